"""Every transfer syntax and pixel layout hiehub claims to render, checked against an
independent decoder on the same file: variants are made with dcmtk (dcmconv, dcmcrle,
dcmcjpeg, dcmcjpls) and pydicom from a phantom CT slice and the pydicom samples, stored with
STOW-RS, then
  - /viewer/api/pixels (stored values) must equal the reference exactly (lossless) or within
    one grey level (lossy JPEG), and
  - /wado PNG with an explicit window must be within one grey level of the linear VOI window
    applied to the reference,
where the reference is pydicom's pixel array of dcmtk's decompression of the same file
(dcmdjpeg / dcmdrle / dcmconv +te). Syntaxes without a decoder in this build must be refused
with 406 and a message naming the transfer syntax.

usage: codec_matrix.py BASE_URL WORKDIR PHANTOM.dcm SC_RGB_JPEG.dcm
"""

import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pydicom
import requests
from pydicom.uid import generate_uid

import io
from PIL import Image

BASE, WORK = sys.argv[1].rstrip("/"), Path(sys.argv[2])
PHANTOM, RGB_JPEG = sys.argv[3], sys.argv[4]
WORK.mkdir(parents=True, exist_ok=True)


def run(*args):
    subprocess.run(args, check=True, capture_output=True)


def fresh_uids(ds):
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SeriesInstanceUID = generate_uid()
    return ds


def save(ds, name):
    p = WORK / name
    ds.save_as(p, enforce_file_format=True)
    return p


def dcmtk(tool, src, name, *opts):
    out = WORK / name
    run(tool, *opts, str(src), str(out))
    # new UIDs so every variant is its own instance
    ds = fresh_uids(pydicom.dcmread(out))
    ds.save_as(out)
    return out


def reference(path):
    """pydicom's pixels of dcmtk's uncompressed version of `path`."""
    ds = pydicom.dcmread(path)
    ts = ds.file_meta.TransferSyntaxUID
    plain = WORK / (path.name + ".ref.dcm")
    if ts in ("1.2.840.10008.1.2.5",):
        run("dcmdrle", str(path), str(plain))
    elif ts.startswith("1.2.840.10008.1.2.4.8"):
        run("dcmdjpls", str(path), str(plain))
    elif ts.startswith("1.2.840.10008.1.2.4.9"):
        plain = path  # JPEG 2000: pydicom (pylibjpeg-openjpeg) decodes it itself
    elif ts.startswith("1.2.840.10008.1.2.4"):
        run("dcmdjpeg", str(path), str(plain))
    else:
        run("dcmconv", "+te", str(path), str(plain))
    ref = pydicom.dcmread(plain)
    # pydicom 3 returns colour as RGB (YBR converted: as_rgb defaults to True)
    arr = ref.pixel_array
    return ref, arr


def window(x, c, w):
    lo, hi = c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2
    y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
    return np.clip(np.rint(np.where(x <= lo, 0, np.where(x > hi, 255, y))), 0, 255)


def stow(path):
    b = "matrix-" + uuid.uuid4().hex
    body = (f"--{b}\r\nContent-Type: application/dicom\r\n\r\n").encode()
    body += path.read_bytes() + f"\r\n--{b}--\r\n".encode()
    r = requests.post(
        f"{BASE}/dicomweb/studies",
        data=body,
        headers={"Content-Type": f'multipart/related; type="application/dicom"; boundary={b}'},
        timeout=60,
    )
    assert r.status_code == 200, (path, r.status_code, r.text)


def check(name, path, lossy=False, refused=False):
    ds = pydicom.dcmread(path)
    ts = ds.file_meta.TransferSyntaxUID
    stow(path)
    ids = (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    frame = 2 if frames > 1 else 1
    r = requests.get(f"{BASE}/viewer/api/pixels/{ids[0]}/{ids[1]}/{ids[2]}/{frame}", timeout=60)
    if refused:
        assert r.status_code == 406, (name, r.status_code, r.text)
        err = r.json()
        assert err["code"] == "UnsupportedTransferSyntax" and ts in err["error"], err
        print(f"| {name} | {ts} | refused (406): {err['error']} |")
        return
    assert r.status_code == 200, (name, r.status_code, r.text)
    ref, arr = reference(path)
    if frames > 1:
        arr = arr[frame - 1]
    fmt = r.headers["X-Pixel-Format"]
    dtype = {"int16": "<i2", "uint16": "<u2", "rgb8": "u1"}[fmt]
    got = np.frombuffer(r.content, dtype=dtype).reshape(arr.shape).astype(np.int64)
    d_raw = int(np.abs(got - arr.astype(np.int64)).max())
    tol = 1 if lossy else 0
    assert d_raw <= tol, f"{name}: stored values differ by {d_raw}"

    # rendered PNG with an explicit window, against the window applied to the reference
    q = f"{BASE}/wado?requestType=WADO&studyUID={ids[0]}&seriesUID={ids[1]}&objectUID={ids[2]}&contentType=image/png&frameNumber={frame}"
    if ref.SamplesPerPixel == 1:
        slope = float(getattr(ref, "RescaleSlope", 1) or 1)
        intercept = float(getattr(ref, "RescaleIntercept", 0) or 0)
        values = arr.astype(np.float64) * slope + intercept
        c, w = float(np.percentile(values, 50)), float(np.ptp(values)) / 2 + 1
        if lossy:
            # decoders of lossy JPEG may differ by one stored value: a window that does not
            # magnify keeps that difference at one grey level
            c, w = 128.0, 256.0
        expected = window(values, c, w)
        if ref.PhotometricInterpretation == "MONOCHROME1":
            expected = 255 - expected
        q += f"&windowCenter={c}&windowWidth={w}"
    else:
        expected = arr.astype(np.float64)
    r = requests.get(q, timeout=60)
    assert r.status_code == 200, (name, r.status_code, r.text)
    img = np.asarray(Image.open(io.BytesIO(r.content))).astype(np.float64)
    d_png = int(np.abs(img - expected).max())
    assert d_png <= 1, f"{name}: rendered PNG differs by {d_png} grey levels"
    print(f"| {name} | {ts} | ok: stored values max diff {d_raw}, rendered max diff {d_png} |")


def main():
    base = fresh_uids(pydicom.dcmread(PHANTOM))
    src = save(base, "ct16s.dcm")
    print("| variant | transfer syntax | result |")
    print("|---|---|---|")
    check("CT 16-bit signed, explicit VR LE", src)
    check("implicit VR LE", dcmtk("dcmconv", src, "implicit.dcm", "+ti"))
    check("explicit VR big endian", dcmtk("dcmconv", src, "big.dcm", "+tb"))
    check("deflated explicit VR LE", dcmtk("dcmconv", src, "deflated.dcm", "+td"))
    check("RLE lossless", dcmtk("dcmcrle", src, "rle.dcm"))
    check("JPEG lossless SV1", dcmtk("dcmcjpeg", src, "jpeg-sv1.dcm", "+e1"))
    check("JPEG lossless process 14", dcmtk("dcmcjpeg", src, "jpeg-p14.dcm", "+el"))

    # 8-bit MONOCHROME2 and MONOCHROME1, unsigned, no rescale
    ds8 = fresh_uids(pydicom.dcmread(src))
    a = np.clip(ds8.pixel_array // 8, 0, 255).astype(np.uint8)
    ds8.BitsAllocated = ds8.BitsStored = 8
    ds8.HighBit = 7
    ds8.PixelRepresentation = 0
    ds8.RescaleIntercept, ds8.RescaleSlope = 0, 1
    ds8.PixelData = a.tobytes()
    ds8["PixelData"].VR = "OB"
    p8 = save(ds8, "mono2-8.dcm")
    check("8-bit MONOCHROME2", p8)
    check("JPEG baseline 8-bit (lossy)", dcmtk("dcmcjpeg", p8, "jpeg-baseline.dcm", "+eb"), lossy=True)
    ds1 = fresh_uids(pydicom.dcmread(p8))
    ds1.PhotometricInterpretation = "MONOCHROME1"
    check("8-bit MONOCHROME1", save(ds1, "mono1-8.dcm"))

    # 12 bits stored in 16, unsigned, with junk in the unused high bits
    ds12 = fresh_uids(pydicom.dcmread(src))
    a = np.clip(ds12.pixel_array, 0, 4095).astype(np.uint16)
    ds12.BitsStored, ds12.HighBit, ds12.PixelRepresentation = 12, 11, 0
    ds12.PixelData = (a | 0xF000).astype(np.uint16).tobytes()
    p12 = save(ds12, "u12.dcm")
    check("12-bit unsigned in 16 (high bits set)", p12)
    clean12 = fresh_uids(pydicom.dcmread(p12))
    clean12.PixelData = a.tobytes()
    p12c = save(clean12, "u12-clean.dcm")
    check("JPEG extended 12-bit", dcmtk("dcmcjpeg", p12c, "jpeg-ext12.dcm", "+ee"), refused=True)
    check("JPEG-LS lossless", dcmtk("dcmcjpls", src, "jpegls.dcm"))

    # multi-frame: three frames, frame 2 checked
    mf = fresh_uids(pydicom.dcmread(src))
    one = mf.pixel_array
    stack = np.stack([one, np.flipud(one), np.fliplr(one)]).astype(np.int16)
    mf.NumberOfFrames = 3
    mf.PixelData = stack.tobytes()
    check("multi-frame 16-bit signed (frame 2)", save(mf, "multiframe.dcm"))
    check("multi-frame RLE (frame 2)", dcmtk("dcmcrle", WORK / "multiframe.dcm", "multiframe-rle.dcm"))

    # colour: JPEG baseline YBR_FULL_422 (pydicom sample), RGB planar, YBR_FULL native
    check("RGB JPEG baseline (YBR_FULL_422)", dcmtk("dcmconv", RGB_JPEG, "rgb-jpeg.dcm"), lossy=True)
    rgb_plain = WORK / "rgb-plain.dcm"
    run("dcmdjpeg", str(WORK / "rgb-jpeg.dcm"), str(rgb_plain))
    rgb = fresh_uids(pydicom.dcmread(rgb_plain))
    arr = rgb.pixel_array
    if rgb.PhotometricInterpretation != "RGB":
        from pydicom.pixels import convert_color_space

        arr = convert_color_space(arr, rgb.PhotometricInterpretation, "RGB")
        rgb.PhotometricInterpretation = "RGB"
    rgb.PlanarConfiguration = 1
    rgb.PixelData = np.ascontiguousarray(arr.transpose(2, 0, 1)).tobytes()
    check("RGB uncompressed, planar configuration 1", save(rgb, "rgb-planar.dcm"))
    check("RGB RLE", dcmtk("dcmcrle", WORK / "rgb-planar.dcm", "rgb-rle.dcm"))
    from pydicom.pixels import convert_color_space

    ybr = fresh_uids(pydicom.dcmread(WORK / "rgb-planar.dcm"))
    ybr.PhotometricInterpretation = "YBR_FULL"
    ybr.PlanarConfiguration = 0
    ybr.PixelData = convert_color_space(arr, "RGB", "YBR_FULL").tobytes()
    # both sides convert YBR_FULL to RGB with their own rounding: one level apart at most
    check("YBR_FULL uncompressed", save(ybr, "ybr-full.dcm"), lossy=True)

    try:
        from pydicom.uid import JPEG2000Lossless

        j2k = fresh_uids(pydicom.dcmread(src))
        j2k.compress(JPEG2000Lossless)
        check("JPEG 2000 lossless (pylibjpeg-openjpeg)", save(j2k, "j2k.dcm"))
    except Exception as e:  # encoder plugin missing: say so, do not pretend
        print(f"| JPEG 2000 lossless | 1.2.840.10008.1.2.4.90 | not checked: no encoder here ({e}) |")
    print("OK")


if __name__ == "__main__":
    main()
