//! Rendering: a stored instance's frame decoded (dicom-pixeldata: every transfer syntax hiehub
//! has a codec for), then either handed out as stored values (the viewer computes window/level
//! itself) or turned into an 8-bit image: modality LUT (rescale slope/intercept), VOI window
//! (PS3.3 C.11.2.1.2.1, linear), MONOCHROME1 inversion, colour conversion to RGB, crop,
//! resize, and JPEG or PNG encoding.
//!
//! Invariant: `render` knows no HTTP and no database; it takes bytes and returns bytes.
//! Invariant: every decoded frame is checked against rows × columns × samples before use, so a
//! short or lying file is an error, never a panic or an out-of-bounds read.

use std::sync::{Arc, Mutex};

use dicom_pixeldata::PixelDecoder;

/// Why a frame could not be rendered. `Unsupported` is the client's problem (406/415-like),
/// the others are the file's.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("not DICOM: {0}")]
    NotDicom(String),
    #[error("the instance has no pixel data")]
    NoPixels,
    #[error("frame {frame} requested, the instance has {frames}")]
    NoSuchFrame { frame: u32, frames: u32 },
    #[error("cannot decode transfer syntax {ts}: {reason}")]
    Unsupported { ts: String, reason: String },
    #[error("pixel data does not match the image attributes: {0}")]
    Inconsistent(String),
    #[error("encoding the image failed: {0}")]
    Encode(String),
}

/// Colour model of a decoded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Monochrome1,
    Monochrome2,
    Rgb,
}

/// One decoded frame: stored values (monochrome, sign-extended from Bits Stored) or RGB bytes.
#[derive(Debug, Clone)]
pub struct Frame {
    pub rows: u32,
    pub columns: u32,
    pub colour: Colour,
    /// Monochrome: one stored value per pixel. Empty for RGB.
    pub values: Vec<i32>,
    /// RGB: 3 bytes per pixel, interleaved. Empty for monochrome.
    pub rgb: Vec<u8>,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
    pub slope: f64,
    pub intercept: f64,
    /// The first window of the file (center, width), if any.
    pub window: Option<(f64, f64)>,
    pub transfer_syntax: String,
}

/// Transfer syntaxes hiehub renders (README lists them); everything else is refused with
/// [`RenderError::Unsupported`].
pub const DECODABLE: &[(&str, &str)] = &[
    ("1.2.840.10008.1.2", "Implicit VR Little Endian"),
    ("1.2.840.10008.1.2.1", "Explicit VR Little Endian"),
    ("1.2.840.10008.1.2.2", "Explicit VR Big Endian (retired)"),
    (
        "1.2.840.10008.1.2.1.99",
        "Deflated Explicit VR Little Endian",
    ),
    ("1.2.840.10008.1.2.5", "RLE Lossless"),
    ("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
    ("1.2.840.10008.1.2.4.57", "JPEG Lossless (Process 14)"),
    (
        "1.2.840.10008.1.2.4.70",
        "JPEG Lossless SV1 (Process 14, selection value 1)",
    ),
    ("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless (CharLS)"),
    ("1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless (CharLS)"),
    ("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless"),
    ("1.2.840.10008.1.2.4.91", "JPEG 2000"),
];

/// Decodes frame `frame` (0-based) of a Part-10 file.
pub fn decode(bytes: &[u8], frame: u32) -> Result<Frame, RenderError> {
    let obj = crate::imaging::parse::read_object(bytes)
        .map_err(|e| RenderError::NotDicom(e.to_string()))?;
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_owned();
    use dicom_dictionary_std::tags;
    if obj.element_opt(tags::PIXEL_DATA).ok().flatten().is_none() {
        return Err(RenderError::NoPixels);
    }
    let frames = crate::imaging::parse::text(&obj, tags::NUMBER_OF_FRAMES)
        .parse::<u32>()
        .unwrap_or(1)
        .max(1);
    if frame >= frames {
        return Err(RenderError::NoSuchFrame {
            frame: frame + 1,
            frames,
        });
    }
    if ts == "1.2.840.10008.1.2.4.51" {
        return Err(RenderError::Unsupported {
            ts,
            reason: "12-bit JPEG Extended (Process 2 & 4) has no decoder in this build".into(),
        });
    }
    let decoded = obj
        .decode_pixel_data_frame(frame)
        .map_err(|e| RenderError::Unsupported {
            ts: ts.clone(),
            reason: e.to_string(),
        })?;
    let rows = decoded.rows();
    let columns = decoded.columns();
    let spp = decoded.samples_per_pixel();
    let bits_allocated = decoded.bits_allocated();
    let bits_stored = decoded.bits_stored().clamp(1, 32);
    let signed = decoded.pixel_representation() == dicom_pixeldata::PixelRepresentation::Signed;
    let pixels = rows as usize * columns as usize;
    let data = decoded.data();
    let rescale = decoded.rescale().ok().and_then(|r| r.first().copied());
    let window = decoded
        .window()
        .ok()
        .flatten()
        .and_then(|w| w.first().copied())
        .map(|w| (w.center, w.width))
        .filter(|(_, w)| *w > 0.0);
    let pi = decoded.photometric_interpretation().as_str().to_owned();
    let mut out = Frame {
        rows,
        columns,
        colour: Colour::Monochrome2,
        values: Vec::new(),
        rgb: Vec::new(),
        bits_allocated,
        bits_stored,
        signed,
        slope: rescale.map_or(1.0, |r| r.slope),
        intercept: rescale.map_or(0.0, |r| r.intercept),
        window,
        transfer_syntax: ts.clone(),
    };
    match spp {
        1 => {
            out.colour = if pi == "MONOCHROME1" {
                Colour::Monochrome1
            } else if pi == "MONOCHROME2" || pi.is_empty() {
                Colour::Monochrome2
            } else {
                return Err(RenderError::Unsupported {
                    ts,
                    reason: format!("photometric interpretation {pi} with one sample"),
                });
            };
            out.values = stored_values(data, pixels, bits_allocated, bits_stored, signed)?;
        }
        3 => {
            if bits_allocated != 8 {
                return Err(RenderError::Unsupported {
                    ts,
                    reason: format!("{bits_allocated}-bit colour"),
                });
            }
            let need = pixels * 3;
            let d = data.get(..need).ok_or_else(|| {
                RenderError::Inconsistent(format!(
                    "{} bytes of colour data for {rows}×{columns}×3 (need {need})",
                    data.len()
                ))
            })?;
            let planar =
                decoded.planar_configuration() == dicom_pixeldata::PlanarConfiguration::PixelFirst;
            let mut rgb = if planar {
                let mut v = Vec::with_capacity(need);
                for i in 0..pixels {
                    v.extend_from_slice(&[d[i], d[pixels + i], d[2 * pixels + i]]);
                }
                v
            } else {
                d.to_vec()
            };
            match pi.as_str() {
                "RGB" => {}
                "YBR_FULL" => ybr_full_to_rgb(&mut rgb),
                other => {
                    return Err(RenderError::Unsupported {
                        ts,
                        reason: format!("photometric interpretation {other} (uncompressed)"),
                    });
                }
            }
            out.colour = Colour::Rgb;
            out.rgb = rgb;
        }
        n => {
            return Err(RenderError::Unsupported {
                ts,
                reason: format!("{n} samples per pixel"),
            });
        }
    }
    Ok(out)
}

fn stored_values(
    data: &[u8],
    pixels: usize,
    bits_allocated: u16,
    bits_stored: u16,
    signed: bool,
) -> Result<Vec<i32>, RenderError> {
    let bytes_per = match bits_allocated {
        1 | 8 => 1,
        16 => 2,
        32 => 4,
        b => {
            return Err(RenderError::Inconsistent(format!(
                "bits allocated {b} (8, 16 or 32 expected)"
            )));
        }
    };
    let need = pixels * bytes_per;
    let d = data.get(..need).ok_or_else(|| {
        RenderError::Inconsistent(format!(
            "{} bytes of pixel data for {pixels} pixels of {bits_allocated} bits (need {need})",
            data.len()
        ))
    })?;
    let bits = u32::from(bits_stored.min(bits_allocated.max(8)));
    let mask: u32 = if bits >= 32 {
        u32::MAX
    } else {
        (1 << bits) - 1
    };
    let extend = |raw: u32| -> i32 {
        let v = raw & mask;
        if signed && bits < 32 && v & (1 << (bits - 1)) != 0 {
            (v | !mask) as i32
        } else {
            v as i32
        }
    };
    Ok(match bytes_per {
        1 => d.iter().map(|&b| extend(u32::from(b))).collect(),
        2 => d
            .chunks_exact(2)
            .map(|c| extend(u32::from(u16::from_le_bytes([c[0], c[1]]))))
            .collect(),
        _ => d
            .chunks_exact(4)
            .map(|c| extend(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
    })
}

/// YBR_FULL → RGB in place (PS3.3 C.7.6.3.1.2).
fn ybr_full_to_rgb(px: &mut [u8]) {
    for p in px.chunks_exact_mut(3) {
        let (y, cb, cr) = (
            f64::from(p[0]),
            f64::from(p[1]) - 128.0,
            f64::from(p[2]) - 128.0,
        );
        let r = y + 1.402 * cr;
        let g = y - 0.344136 * cb - 0.714136 * cr;
        let b = y + 1.772 * cb;
        p[0] = r.round().clamp(0.0, 255.0) as u8;
        p[1] = g.round().clamp(0.0, 255.0) as u8;
        p[2] = b.round().clamp(0.0, 255.0) as u8;
    }
}

/// A byte-bounded least-recently-used cache of values by string key.
pub struct Lru<V> {
    /// (entries, least recently used first; total bytes).
    inner: Mutex<(Vec<(String, V)>, usize)>,
    budget: usize,
    size: fn(&V) -> usize,
}

impl<V: Clone> Lru<V> {
    pub const fn new(budget: usize, size: fn(&V) -> usize) -> Lru<V> {
        Lru {
            inner: Mutex::new((Vec::new(), 0)),
            budget,
            size,
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        let mut g = self.inner.lock().ok()?;
        let i = g.0.iter().rposition(|(k, _)| k == key)?;
        let entry = g.0.remove(i);
        let v = entry.1.clone();
        g.0.push(entry);
        Some(v)
    }

    pub fn put(&self, key: String, value: V) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let size = (self.size)(&value) + key.len() + 64;
        if size > self.budget {
            return;
        }
        g.1 += size;
        g.0.push((key, value));
        while g.1 > self.budget && !g.0.is_empty() {
            let (k, old) = g.0.remove(0);
            g.1 -= (self.size)(&old) + k.len() + 64;
        }
    }
}

/// Decoded frames kept in memory (256 MB): a viewer asks for the same frame as a thumbnail, a
/// rendered image and raw pixels.
pub fn frame_cache() -> &'static Lru<Arc<Frame>> {
    static CACHE: Lru<Arc<Frame>> = Lru::new(256 * 1024 * 1024, |f: &Arc<Frame>| {
        f.values.len() * 4 + f.rgb.len()
    });
    &CACHE
}

/// Encoded renderings (content type, bytes) kept in memory (64 MB), keyed by blob, frame and
/// every rendering parameter: thumbnails and first-display images are asked for again and again.
pub fn rendered_cache() -> &'static Lru<(&'static str, bytes::Bytes)> {
    static CACHE: Lru<(&'static str, bytes::Bytes)> =
        Lru::new(64 * 1024 * 1024, |(_, b): &(&'static str, bytes::Bytes)| {
            b.len()
        });
    &CACHE
}

/// Frame `frame` (0-based) of the blob `key`, from the cache or decoded by `load`ing the bytes.
pub fn frame_cached(
    key: &str,
    frame: u32,
    load: impl FnOnce() -> std::io::Result<bytes::Bytes>,
) -> Result<Arc<Frame>, RenderError> {
    let cache_key = format!("{key}/{frame}");
    if let Some(f) = frame_cache().get(&cache_key) {
        return Ok(f);
    }
    let bytes = load().map_err(|e| RenderError::NotDicom(format!("blob unreadable: {e}")))?;
    let f = Arc::new(decode(&bytes, frame)?);
    frame_cache().put(cache_key, f.clone());
    Ok(f)
}

/// The window to apply: explicit, else the file's, else the frame's value range.
pub fn effective_window(frame: &Frame, explicit: Option<(f64, f64)>) -> (f64, f64) {
    if let Some(w) = explicit.filter(|(_, w)| *w >= 1.0) {
        return w;
    }
    if let Some(w) = frame.window.filter(|(_, w)| *w >= 1.0) {
        return w;
    }
    let (mut lo, mut hi) = (i32::MAX, i32::MIN);
    for &v in &frame.values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (128.0, 256.0);
    }
    let (a, b) = (
        f64::from(lo) * frame.slope + frame.intercept,
        f64::from(hi) * frame.slope + frame.intercept,
    );
    let (a, b) = (a.min(b), a.max(b));
    ((a + b + 1.0) / 2.0, (b - a + 1.0).max(1.0))
}

/// An 8-bit image: 1 (grey) or 3 (RGB) channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Image8 {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

/// What the client asked for beyond the frame itself.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// VOI window (center, width) in modality units; None: the file's, else the value range.
    pub window: Option<(f64, f64)>,
    /// Crop, as fractions of the image (left, top, right, bottom), 0..=1 (WADO-URI `region`).
    pub region: Option<[f64; 4]>,
    /// Output size (width, height) to fit inside, keeping the aspect ratio.
    pub size: Option<(u32, u32)>,
}

/// Frame → 8-bit image: modality LUT, VOI window, MONOCHROME1 inversion (colour: as is).
pub fn to_image8(frame: &Frame, options: &Options) -> Image8 {
    let img = match frame.colour {
        Colour::Rgb => Image8 {
            width: frame.columns,
            height: frame.rows,
            channels: 3,
            data: frame.rgb.clone(),
        },
        Colour::Monochrome1 | Colour::Monochrome2 => {
            let (c, w) = effective_window(frame, options.window);
            let lut = voi_lut(frame, c, w);
            let data = match &lut {
                Some((min, table)) => frame
                    .values
                    .iter()
                    .map(|&v| {
                        let i = (i64::from(v) - min).clamp(0, table.len() as i64 - 1) as usize;
                        table[i]
                    })
                    .collect(),
                None => frame
                    .values
                    .iter()
                    .map(|&v| window_value(f64::from(v) * frame.slope + frame.intercept, c, w))
                    .collect(),
            };
            let mut img = Image8 {
                width: frame.columns,
                height: frame.rows,
                channels: 1,
                data,
            };
            if frame.colour == Colour::Monochrome1 {
                for p in &mut img.data {
                    *p = 255 - *p;
                }
            }
            img
        }
    };
    let img = match options.region {
        Some(r) => crop(&img, r),
        None => img,
    };
    match options.size {
        Some((w, h)) => resize_to_fit(&img, w, h),
        None => img,
    }
}

/// A lookup table from stored value to 8-bit output over the values the frame holds (at most
/// 65,536 of them): one table lookup per pixel instead of the float arithmetic. The table spans
/// the frame's own minimum..maximum, not the whole Bits Stored range: a CT slice uses a few
/// thousand of the 65,536 values of 16 bits, and building the table was most of the cost.
fn voi_lut(frame: &Frame, c: f64, w: f64) -> Option<(i64, Vec<u8>)> {
    let (lo, hi) = frame
        .values
        .iter()
        .fold((i32::MAX, i32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if lo > hi || i64::from(hi) - i64::from(lo) >= 1 << 16 {
        return None;
    }
    let (min, max) = (i64::from(lo), i64::from(hi));
    let table = (min..=max)
        .map(|v| window_value(v as f64 * frame.slope + frame.intercept, c, w))
        .collect();
    Some((min, table))
}

/// The linear VOI function of PS3.3 C.11.2.1.2.1 to 0..=255, rounded to nearest.
pub fn window_value(x: f64, c: f64, w: f64) -> u8 {
    let w1 = (w - 1.0).max(1e-9);
    let lo = c - 0.5 - w1 / 2.0;
    let hi = c - 0.5 + w1 / 2.0;
    if x <= lo {
        0
    } else if x > hi {
        255
    } else {
        (((x - (c - 0.5)) / w1 + 0.5) * 255.0)
            .round()
            .clamp(0.0, 255.0) as u8
    }
}

fn crop(img: &Image8, r: [f64; 4]) -> Image8 {
    let (w, h) = (f64::from(img.width), f64::from(img.height));
    let x0 = (r[0].clamp(0.0, 1.0) * w).floor() as u32;
    let y0 = (r[1].clamp(0.0, 1.0) * h).floor() as u32;
    let x1 = ((r[2].clamp(0.0, 1.0) * w).ceil() as u32).clamp(x0 + 1, img.width.max(1));
    let y1 = ((r[3].clamp(0.0, 1.0) * h).ceil() as u32).clamp(y0 + 1, img.height.max(1));
    let x0 = x0.min(x1.saturating_sub(1));
    let y0 = y0.min(y1.saturating_sub(1));
    let ch = img.channels as usize;
    let mut data = Vec::with_capacity(((x1 - x0) * (y1 - y0)) as usize * ch);
    for y in y0..y1 {
        let start = (y as usize * img.width as usize + x0 as usize) * ch;
        let end = (y as usize * img.width as usize + x1 as usize) * ch;
        if let Some(row) = img.data.get(start..end) {
            data.extend_from_slice(row);
        }
    }
    Image8 {
        width: x1 - x0,
        height: y1 - y0,
        channels: img.channels,
        data,
    }
}

/// Scales to fit inside `max_w` × `max_h` keeping the aspect ratio: box average when
/// shrinking, bilinear when enlarging.
pub fn resize_to_fit(img: &Image8, max_w: u32, max_h: u32) -> Image8 {
    if img.width == 0 || img.height == 0 || max_w == 0 || max_h == 0 {
        return img.clone();
    }
    let scale =
        (f64::from(max_w) / f64::from(img.width)).min(f64::from(max_h) / f64::from(img.height));
    let w = ((f64::from(img.width) * scale).round() as u32).max(1);
    let h = ((f64::from(img.height) * scale).round() as u32).max(1);
    if w == img.width && h == img.height {
        return img.clone();
    }
    let ch = img.channels as usize;
    let (sw, sh) = (img.width as usize, img.height as usize);
    let mut out = vec![0u8; w as usize * h as usize * ch];
    let fx = sw as f64 / f64::from(w);
    let fy = sh as f64 / f64::from(h);
    for y in 0..h as usize {
        for x in 0..w as usize {
            for c in 0..ch {
                let v = if scale < 1.0 {
                    let (x0, x1) = (
                        (x as f64 * fx) as usize,
                        (((x + 1) as f64 * fx).ceil() as usize).min(sw),
                    );
                    let (y0, y1) = (
                        (y as f64 * fy) as usize,
                        (((y + 1) as f64 * fy).ceil() as usize).min(sh),
                    );
                    let mut sum = 0u32;
                    let mut n = 0u32;
                    for yy in y0..y1.max(y0 + 1) {
                        for xx in x0..x1.max(x0 + 1) {
                            sum += u32::from(img.data[(yy * sw + xx) * ch + c]);
                            n += 1;
                        }
                    }
                    ((sum + n / 2) / n.max(1)) as u8
                } else {
                    let sx = ((x as f64 + 0.5) * fx - 0.5).clamp(0.0, (sw - 1) as f64);
                    let sy = ((y as f64 + 0.5) * fy - 0.5).clamp(0.0, (sh - 1) as f64);
                    let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
                    let (x1, y1) = ((x0 + 1).min(sw - 1), (y0 + 1).min(sh - 1));
                    let (ax, ay) = (sx - x0 as f64, sy - y0 as f64);
                    let p = |xx: usize, yy: usize| f64::from(img.data[(yy * sw + xx) * ch + c]);
                    let top = p(x0, y0) * (1.0 - ax) + p(x1, y0) * ax;
                    let bottom = p(x0, y1) * (1.0 - ax) + p(x1, y1) * ax;
                    (top * (1.0 - ay) + bottom * ay).round().clamp(0.0, 255.0) as u8
                };
                out[(y * w as usize + x) * ch + c] = v;
            }
        }
    }
    Image8 {
        width: w,
        height: h,
        channels: img.channels,
        data: out,
    }
}

/// JPEG (baseline) of an 8-bit image.
pub fn encode_jpeg(img: &Image8, quality: u8) -> Result<Vec<u8>, RenderError> {
    let (w, h) = (
        u16::try_from(img.width)
            .map_err(|_| RenderError::Encode("image too wide for JPEG".into()))?,
        u16::try_from(img.height)
            .map_err(|_| RenderError::Encode("image too tall for JPEG".into()))?,
    );
    let mut out = Vec::with_capacity(img.data.len() / 4 + 1024);
    let encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    let ct = if img.channels == 3 {
        jpeg_encoder::ColorType::Rgb
    } else {
        jpeg_encoder::ColorType::Luma
    };
    encoder
        .encode(&img.data, w, h, ct)
        .map_err(|e| RenderError::Encode(e.to_string()))?;
    Ok(out)
}

/// PNG (8-bit grey or RGB, fast compression) of an 8-bit image.
pub fn encode_png(img: &Image8) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::with_capacity(img.data.len() / 2 + 1024);
    {
        let mut enc = png::Encoder::new(&mut out, img.width, img.height);
        enc.set_color(if img.channels == 3 {
            png::ColorType::Rgb
        } else {
            png::ColorType::Grayscale
        });
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc
            .write_header()
            .map_err(|e| RenderError::Encode(e.to_string()))?;
        writer
            .write_image_data(&img.data)
            .map_err(|e| RenderError::Encode(e.to_string()))?;
        writer
            .finish()
            .map_err(|e| RenderError::Encode(e.to_string()))?;
    }
    Ok(out)
}

/// Stored values as the viewer takes them: `int16`/`uint16` little-endian (monochrome), or
/// `rgb8`. Values wider than 16 bits are clamped (such images are rare and not CT/MR).
pub fn raw_pixels(frame: &Frame) -> (&'static str, Vec<u8>) {
    match frame.colour {
        Colour::Rgb => ("rgb8", frame.rgb.clone()),
        _ => {
            let mut out = Vec::with_capacity(frame.values.len() * 2);
            if frame.signed {
                for &v in &frame.values {
                    out.extend_from_slice(
                        &(v.clamp(i16::MIN as i32, i16::MAX as i32) as i16).to_le_bytes(),
                    );
                }
                ("int16", out)
            } else {
                for &v in &frame.values {
                    out.extend_from_slice(&(v.clamp(0, u16::MAX as i32) as u16).to_le_bytes());
                }
                ("uint16", out)
            }
        }
    }
}

/// The frame as uncompressed little-endian samples at its Bits Allocated (WADO-RS frames,
/// `application/octet-stream`): what a client that asked for the native form expects.
pub fn native_bytes(frame: &Frame) -> Vec<u8> {
    match (frame.colour, frame.bits_allocated) {
        (Colour::Rgb, _) => frame.rgb.clone(),
        (_, 1 | 8) => frame.values.iter().map(|&v| v as u8).collect(),
        (_, 32) => frame.values.iter().flat_map(|&v| v.to_le_bytes()).collect(),
        _ => frame
            .values
            .iter()
            .flat_map(|&v| (v as u16).to_le_bytes())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_window_matches_the_standard() {
        // c=40, w=400: below -159.5 → 0, above 239.5 → 255
        assert_eq!(window_value(-1000.0, 40.0, 400.0), 0);
        assert_eq!(window_value(1000.0, 40.0, 400.0), 255);
        assert_eq!(window_value(40.0, 40.0, 400.0), 128);
        assert_eq!(window_value(-160.0, 40.0, 400.0), 0);
    }

    #[test]
    fn sign_extension_uses_bits_stored() {
        // 12 bits stored, signed: 0x0FFF = -1, 0x0800 = -2048, with junk in the high bits
        let data = [0xFF, 0xFF, 0x00, 0x08, 0x01, 0x00];
        assert_eq!(
            stored_values(&data, 3, 16, 12, true).expect("values"),
            vec![-1, -2048, 1]
        );
        assert_eq!(
            stored_values(&data, 3, 16, 12, false).expect("values"),
            vec![4095, 2048, 1]
        );
        assert!(stored_values(&data, 4, 16, 12, false).is_err());
    }

    #[test]
    fn phantom_renders_with_its_window() {
        let s = crate::imaging::phantom::Phantom {
            slices: 3,
            rows: 64,
            columns: 64,
            study_uid: None,
            patient_id: None,
            issuer: None,
        }
        .generate();
        let f = decode(&s.files[0], 0).expect("decode");
        assert_eq!((f.rows, f.columns), (64, 64));
        assert!(f.signed);
        assert_eq!(f.window, Some((40.0, 400.0)));
        let img = to_image8(&f, &Options::default());
        // the body (40 HU) is mid-grey, air is black
        assert_eq!(img.data[32 * 64 + 32], 128);
        assert_eq!(img.data[10 * 64 + 1], 0);
        let small = to_image8(
            &f,
            &Options {
                size: Some((16, 16)),
                ..Options::default()
            },
        );
        assert_eq!((small.width, small.height), (16, 16));
        assert!(
            encode_jpeg(&img, 90)
                .expect("jpeg")
                .starts_with(&[0xFF, 0xD8])
        );
        assert!(encode_png(&img).expect("png").starts_with(b"\x89PNG"));
        assert!(matches!(
            decode(&s.files[0], 1),
            Err(RenderError::NoSuchFrame { .. })
        ));
        let (fmt, raw) = raw_pixels(&f);
        assert_eq!(fmt, "int16");
        assert_eq!(raw.len(), 64 * 64 * 2);
    }

    #[test]
    fn the_lookup_table_gives_what_the_voi_function_gives() {
        let s = crate::imaging::phantom::Phantom {
            slices: 1,
            rows: 64,
            columns: 64,
            study_uid: None,
            patient_id: None,
            issuer: None,
        }
        .generate();
        let mut f = decode(&s.files[0], 0).expect("decode");
        // extremes of 16 bits signed too, so the table spans the whole range once
        f.values[0] = i32::from(i16::MIN);
        f.values[1] = i32::from(i16::MAX);
        for window in [(40.0, 400.0), (-600.0, 1500.0), (0.5, 1.0), (3000.0, 10.0)] {
            let img = to_image8(
                &f,
                &Options {
                    window: Some(window),
                    ..Options::default()
                },
            );
            for (i, &v) in f.values.iter().enumerate() {
                let want = window_value(f64::from(v) * f.slope + f.intercept, window.0, window.1);
                assert_eq!(img.data[i], want, "pixel {i} value {v} window {window:?}");
            }
        }
        // a range beyond 65,536 values takes the arithmetic path, same function
        f.values[1] = 100_000;
        let img = to_image8(
            &f,
            &Options {
                window: Some((40.0, 400.0)),
                ..Options::default()
            },
        );
        assert_eq!(img.data[1], 255);
        assert_eq!(img.data[0], 0);
    }
}
