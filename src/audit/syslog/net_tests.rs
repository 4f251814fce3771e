//! Socket-level tests: real senders (util-linux `logger`, `openssl s_client`) and a tokio-openssl
//! client against the listeners on 127.0.0.1:0, with the development PKI.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use openssl::ssl::{SslAcceptor, SslConnector, SslFiletype, SslMethod};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio_openssl::SslStream;

use super::super::frame::Framing;
use super::super::message::{Format, MSGID_IHE_RFC3881, ParseError};
use super::super::{FrameError, Ingest, IngestError, ListenerConfig, Received};
use super::{Listening, serve_tls, serve_udp};
use crate::audit::Transport;
use crate::tls::{DevPki, RejectHook};

const CLIENT_SUBJECT: &str = "CN=hiehub dev client,O=hiehub development";

/// An `Ingest` that forwards batches to the test, once its gate is open.
struct Gate {
    tx: mpsc::UnboundedSender<Vec<Received>>,
    open: watch::Receiver<bool>,
    calls: AtomicUsize,
}

impl Ingest for Gate {
    fn ingest(&self, batch: Vec<Received>) -> impl Future<Output = Result<(), IngestError>> + Send {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let tx = self.tx.clone();
        let mut open = self.open.clone();
        async move {
            // A dropped sender opens the gate for good.
            let _ = open.wait_for(|open| *open).await;
            tx.send(batch).map_err(|_| IngestError {
                reason: "test receiver gone".into(),
            })
        }
    }
}

struct Harness {
    gate: Arc<Gate>,
    batches: mpsc::UnboundedReceiver<Vec<Received>>,
    open: watch::Sender<bool>,
}

fn gate(open: bool) -> Harness {
    let (tx, batches) = mpsc::unbounded_channel();
    let (open_tx, open_rx) = watch::channel(open);
    Harness {
        gate: Arc::new(Gate {
            tx,
            open: open_rx,
            calls: AtomicUsize::new(0),
        }),
        batches,
        open: open_tx,
    }
}

impl Harness {
    /// Waits for `n` frames (20 s at most).
    async fn frames(&mut self, n: usize) -> Vec<Received> {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while got.len() < n {
            match tokio::time::timeout_at(deadline, self.batches.recv()).await {
                Ok(Some(batch)) => got.extend(batch),
                Ok(None) => break,
                Err(_) => panic!("timed out with {} of {n} frames: {got:#?}", got.len()),
            }
        }
        assert_eq!(got.len(), n, "{got:#?}");
        got
    }
}

struct Pki {
    _dir: tempfile::TempDir,
    pki: DevPki,
    rejected: Arc<AtomicU64>,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = DevPki::new(dir.path());
    pki.generate(&["localhost".into(), "127.0.0.1".into()])
        .expect("dev PKI");
    Pki {
        _dir: dir,
        pki,
        rejected: Arc::new(AtomicU64::new(0)),
    }
}

impl Pki {
    fn acceptor(&self) -> SslAcceptor {
        let rejected = self.rejected.clone();
        let hook: RejectHook = Arc::new(move |_, _| {
            rejected.fetch_add(1, Ordering::SeqCst);
        });
        crate::tls::acceptor(
            &self.pki.server_cert(),
            &self.pki.server_key(),
            &self.pki.ca_cert(),
            hook,
        )
        .expect("acceptor")
        .build()
    }

    /// A TLS client; with the dev client certificate, or with `identity` (cert, key), or none.
    async fn connect(
        &self,
        addr: std::net::SocketAddr,
        identity: Option<(PathBuf, PathBuf)>,
    ) -> Result<SslStream<TcpStream>, String> {
        let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
        b.set_ca_file(self.pki.ca_cert())
            .map_err(|e| e.to_string())?;
        if let Some((cert, key)) = identity {
            b.set_certificate_chain_file(cert)
                .map_err(|e| e.to_string())?;
            b.set_private_key_file(key, SslFiletype::PEM)
                .map_err(|e| e.to_string())?;
        }
        let ssl = b
            .build()
            .configure()
            .and_then(|c| c.into_ssl("localhost"))
            .map_err(|e| e.to_string())?;
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let mut stream = SslStream::new(ssl, tcp).map_err(|e| e.to_string())?;
        Pin::new(&mut stream)
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(stream)
    }

    fn client_identity(&self) -> Option<(PathBuf, PathBuf)> {
        Some((self.pki.client_cert(), self.pki.client_key()))
    }
}

async fn start_tls(
    pki: &Pki,
    ingest: Arc<Gate>,
    config: ListenerConfig,
) -> (Listening, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (stop, stop_rx) = watch::channel(false);
    (
        serve_tls(listener, pki.acceptor(), ingest, config, stop_rx),
        stop,
    )
}

fn octet(msg: &[u8]) -> Vec<u8> {
    let mut v = format!("{} ", msg.len()).into_bytes();
    v.extend_from_slice(msg);
    v
}

fn atna_samples() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/ipf/atna");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 2,
        "ATNA samples missing in {}",
        dir.display()
    );
    files
        .into_iter()
        .map(|p| {
            let content = std::fs::read(&p).expect("sample");
            (p.display().to_string(), content)
        })
        .collect()
}

/// Runs a real program, failing with the Debian package to install when it is missing.
fn command(program: &str, package: &str) -> tokio::process::Command {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()));
    assert!(
        found,
        "`{program}` is not installed: apt-get install {package}"
    );
    let mut c = tokio::process::Command::new(program);
    c.kill_on_drop(true);
    c
}

/// What util-linux `logger` sends over plain TCP with `args`: captured on a local socket, to be
/// replayed over TLS (logger itself has no TLS).
async fn logger_tcp_capture(args: &[&str], message: &[u8]) -> Vec<u8> {
    let capture = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = capture.local_addr().expect("addr").port().to_string();
    let message = std::str::from_utf8(message).expect("UTF-8 sample");
    let mut cmd = command("logger", "bsdutils");
    cmd.args(["--tcp", "--server", "127.0.0.1", "--port", &port])
        .args(args)
        .arg("--")
        .arg(message);
    let (status, bytes) = tokio::join!(cmd.status(), async {
        let (mut s, _) = capture.accept().await.expect("logger connects");
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).await.expect("read");
        bytes
    });
    assert!(status.is_ok_and(|s| s.success()), "logger failed");
    bytes
}

/// Sends `bytes` over TLS with `openssl s_client` and the dev client certificate.
async fn s_client(pki: &Pki, addr: std::net::SocketAddr, bytes: &[u8]) {
    let mut child = command("openssl", "openssl")
        .args(["s_client", "-connect", &addr.to_string(), "-cert"])
        .arg(pki.pki.client_cert())
        .arg("-key")
        .arg(pki.pki.client_key())
        .arg("-CAfile")
        .arg(pki.pki.ca_cert())
        // Verify the server; read stdin as data only; close on its end.
        .args(["-verify_return_error", "-nocommands", "-brief"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl s_client");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(bytes).await.expect("write to s_client");
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("s_client exits")
        .expect("s_client output");
    assert!(
        out.status.success(),
        "s_client: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn atna_samples_over_tls_from_logger_and_s_client() {
    let pki = pki();
    let mut h = gate(true);
    let (listening, stop) = start_tls(&pki, h.gate.clone(), ListenerConfig::default()).await;
    let addr = listening.local_addr().expect("addr");
    let samples = atna_samples();

    // RFC 5425 octet counting, as `logger --octet-count` frames it, one connection for all.
    let mut stream = Vec::new();
    for (_, content) in &samples {
        stream.extend(
            logger_tcp_capture(
                &[
                    "--rfc5424",
                    "--octet-count",
                    "--msgid",
                    MSGID_IHE_RFC3881,
                    "-p",
                    "authpriv.notice",
                    "-t",
                    "hiehub-test",
                    "-S",
                    "65536",
                ],
                content,
            )
            .await,
        );
    }
    s_client(&pki, addr, &stream).await;
    let got = h.frames(samples.len()).await;
    for (r, (name, content)) in got.iter().zip(&samples) {
        let m = r.message.as_ref().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            &m.msg[..],
            &content[..],
            "{name}: MSG is the file, byte for byte"
        );
        assert_eq!(m.msg_id.as_deref(), Some(MSGID_IHE_RFC3881));
        assert_eq!(m.app_name.as_deref(), Some("hiehub-test"));
        assert_eq!(m.pri, 10 * 8 + 5, "authpriv.notice");
        assert_eq!(m.format, Format::Rfc5424);
        assert!(r.raw.ends_with(content), "raw is the whole SYSLOG-MSG");
        assert_eq!(r.framing, Some(Framing::OctetCounting));
        assert_eq!(r.transport, Transport::SyslogTls);
        assert_eq!(
            r.peer_identity.as_ref().map(|i| i.subject.as_str()),
            Some(CLIENT_SUBJECT)
        );
    }
    assert_eq!(got[0].connection_id, got[1].connection_id);
    assert_eq!((got[0].frame_seq, got[1].frame_seq), (0, 1));

    // Legacy newline framing (`logger --tcp` without --octet-count): a one-line message with a
    // Hangul name arrives whole; a multi-line audit message is cut at each LF, as RFC 6587
    // §3.4.2 warns, and every piece is still delivered (the first parses, the rest are kept raw).
    let hangul = "<ParticipantObjectName>홍길동</ParticipantObjectName>".as_bytes();
    let mut stream = logger_tcp_capture(&["--rfc5424", "--msgid", MSGID_IHE_RFC3881], hangul).await;
    assert!(stream.ends_with(b"\n"), "logger ends each message with LF");
    let (_, multi) = &samples[0];
    stream.extend(logger_tcp_capture(&["--rfc5424", "-S", "65536"], multi).await);
    s_client(&pki, addr, &stream).await;
    let lines = multi.split(|&b| b == b'\n').count();
    let got = h.frames(1 + lines).await;
    let m = got[0].message.as_ref().expect("parses");
    assert_eq!(&m.msg[..], hangul);
    assert_eq!(got[0].framing, Some(Framing::NonTransparent));
    let mut rebuilt = got[1]
        .message
        .as_ref()
        .expect("first line parses")
        .msg
        .to_vec();
    for r in &got[2..] {
        assert!(r.message.is_err(), "{r:?}");
        rebuilt.push(b'\n');
        rebuilt.extend_from_slice(&r.raw);
    }
    assert_eq!(&rebuilt, multi);

    assert_eq!(listening.stats().handshake_failures(), 0);
    assert_eq!(listening.stats().connections(), 2);
    assert_eq!(listening.stats().parse_failures(), lines as u64 - 1);
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), listening.join())
        .await
        .expect("listener stops")
        .expect("listener task");
}

#[tokio::test]
async fn atna_samples_over_udp_from_logger() {
    let mut h = gate(true);
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let (stop, stop_rx) = watch::channel(false);
    let listening = serve_udp(socket, h.gate.clone(), ListenerConfig::default(), stop_rx);
    let port = listening.local_addr().expect("addr").port().to_string();
    let udp = [
        "--rfc5424",
        "--udp",
        "--server",
        "127.0.0.1",
        "--port",
        &port,
    ];
    let msgid = ["--msgid", MSGID_IHE_RFC3881];
    for (name, content) in atna_samples() {
        // The message as an argument: one datagram. `-S` is needed: logger's default maximum
        // (1 KiB) silently cuts MSG.
        let text = std::str::from_utf8(&content).expect("UTF-8 sample");
        let status = command("logger", "bsdutils")
            .args(udp)
            .args(msgid)
            .args(["-S", "65000", "--", text])
            .status()
            .await;
        assert!(status.is_ok_and(|s| s.success()));
        let got = h.frames(1).await;
        let m = got[0]
            .message
            .as_ref()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&m.msg[..], &content[..], "{name}");
        assert_eq!(m.msg_id.as_deref(), Some(MSGID_IHE_RFC3881));
        assert_eq!(got[0].transport, Transport::SyslogUdp);
        assert_eq!(got[0].framing, Some(Framing::Datagram));
        assert_eq!(got[0].peer_identity, None);

        // Without -S: the datagram carries only the first 1024 bytes of MSG.
        if content.len() > 1024 {
            let status = command("logger", "bsdutils")
                .args(udp)
                .args(msgid)
                .args(["--", text])
                .status()
                .await;
            assert!(status.is_ok_and(|s| s.success()));
            let got = h.frames(1).await;
            let m = got[0].message.as_ref().expect("parses");
            assert_eq!(&m.msg[..], &content[..1024], "{name}: logger cut it");
        }

        // `-f FILE` sends one message per line, not the file as one message.
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), &content).expect("write");
        let status = command("logger", "bsdutils")
            .args(udp)
            .args(msgid)
            .args(["-S", "65000", "-f"])
            .arg(file.path())
            .status()
            .await;
        assert!(status.is_ok_and(|s| s.success()));
        let lines = content.split(|&b| b == b'\n').count();
        let got = h.frames(lines).await;
        let rebuilt: Vec<&[u8]> = got
            .iter()
            .map(|r| &r.message.as_ref().expect("each line parses").msg[..])
            .collect();
        assert_eq!(rebuilt.join(&b'\n'), content, "{name}");
    }
    // An argument is sent as is, trailing LFs included (a shell's `"$(cat FILE)"` is what
    // strips them, not logger).
    let status = command("logger", "bsdutils")
        .args(udp)
        .args(["--", "  spaces and LFs  \n\n"])
        .status()
        .await;
    assert!(status.is_ok_and(|s| s.success()));
    let got = h.frames(1).await;
    let m = got[0].message.as_ref().expect("parses");
    assert_eq!(&m.msg[..], b"  spaces and LFs  \n\n");
    assert_eq!(listening.stats().udp_dropped(), 0);
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), listening.join())
        .await
        .expect("listener stops")
        .expect("listener task");
}

#[tokio::test]
async fn backpressure_stalls_the_sender_and_loses_nothing() {
    let pki = pki();
    let mut h = gate(false);
    let (listening, stop) = start_tls(&pki, h.gate.clone(), ListenerConfig::default()).await;
    let addr = listening.local_addr().expect("addr");
    let client = pki
        .connect(addr, pki.client_identity())
        .await
        .expect("TLS client");

    // 16 MiB of 4 KiB frames: far more than the socket buffers hold.
    const FRAMES: usize = 4096;
    let frame = |i: usize| {
        let head = format!("<86>1 - sender app - {MSGID_IHE_RFC3881} [seq n=\"{i}\"] ");
        let mut msg = head.into_bytes();
        msg.resize(4096, b'a' + (i % 26) as u8);
        msg
    };
    let written = Arc::new(AtomicU64::new(0));
    let total: u64 = (0..FRAMES).map(|i| octet(&frame(i)).len() as u64).sum();
    let writer = tokio::spawn({
        let written = written.clone();
        async move {
            let mut client = client;
            for i in 0..FRAMES {
                let bytes = octet(&frame(i));
                client.write_all(&bytes).await.expect("write");
                written.fetch_add(bytes.len() as u64, Ordering::SeqCst);
            }
            client.shutdown().await.expect("close_notify");
        }
    });

    // The sender stalls: nothing written for a second (4 samples), long before the end.
    let mut last = u64::MAX;
    let mut unchanged = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while unchanged < 4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = written.load(Ordering::SeqCst);
        unchanged = if now == last { unchanged + 1 } else { 0 };
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sender never stalled"
        );
        last = now;
    }
    assert!(last < total / 2, "stalled after {last} of {total} bytes");
    assert!(!writer.is_finished());
    // One batch is waiting to be accepted, and the connection reads nothing more meanwhile.
    assert_eq!(h.gate.calls.load(Ordering::SeqCst), 1);
    let read = listening.stats().bytes();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(listening.stats().bytes(), read);

    h.open.send_replace(true);
    let got = h.frames(FRAMES).await;
    tokio::time::timeout(Duration::from_secs(20), writer)
        .await
        .expect("the sender finishes")
        .expect("writer task");
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.frame_seq, i as u64);
        assert_eq!(&r.raw[..], &frame(i)[..], "frame {i}");
        let m = r.message.as_ref().expect("parses");
        assert_eq!(
            m.structured_data[0].param("n"),
            Some(i.to_string().as_str())
        );
    }
    assert_eq!(listening.stats().bytes(), total);
    assert_eq!(listening.stats().frames(), FRAMES as u64);
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), listening.join())
        .await
        .expect("listener stops")
        .expect("listener task");
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn clients_without_a_valid_certificate_are_refused_and_counted() {
    let pki = pki();
    let other = self::pki(); // another CA's client certificate
    let mut h = gate(true);
    let reasons = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook: super::super::HandshakeHook = Arc::new({
        let reasons = reasons.clone();
        move |peer, reason| {
            if let Ok(mut r) = reasons.lock() {
                r.push((peer, reason));
            }
        }
    });
    let config = ListenerConfig {
        on_handshake_failure: Some(hook),
        ..ListenerConfig::default()
    };
    let (listening, stop) = start_tls(&pki, h.gate.clone(), config).await;
    let addr = listening.local_addr().expect("addr");
    let stats = listening.stats().clone();

    for (n, identity) in [None, other.client_identity()].into_iter().enumerate() {
        // With TLS 1.3 the client may finish its side of the handshake before the server has
        // checked its certificate; then its first read fails.
        if let Ok(mut s) = pki.connect(addr, identity).await {
            let _ = s
                .write_all(&octet(b"<13>1 - - - - - - must not arrive"))
                .await;
            let mut buf = [0u8; 16];
            assert!(!matches!(s.read(&mut buf).await, Ok(n) if n > 0));
        }
        wait_until("the handshake failure", || {
            stats.handshake_failures() == n as u64 + 1
        })
        .await;
    }
    assert_eq!(
        pki.rejected.load(Ordering::SeqCst),
        1,
        "the reject hook saw the foreign certificate"
    );

    // A plain-TCP sender is a failed handshake too, and the listener goes on.
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let _ = tcp.write_all(b"13 <13>1 - - - -\n").await;
    wait_until("the plain-TCP failure", || stats.handshake_failures() == 3).await;

    let mut ok = pki
        .connect(addr, pki.client_identity())
        .await
        .expect("a good client still gets in");
    ok.write_all(&octet(b"<13>1 - - - - - - hello"))
        .await
        .expect("write");
    ok.shutdown().await.expect("close");
    let got = h.frames(1).await;
    assert_eq!(&got[0].raw[..], b"<13>1 - - - - - - hello");
    let reasons = reasons.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons.iter().all(|(peer, _)| peer.ip().is_loopback()));
    assert!(
        reasons[0].1.contains("certificate"),
        "no client certificate: {}",
        reasons[0].1
    );
    assert_eq!(stats.connections(), 1);
    assert_eq!(stats.frames(), 1);
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), listening.join())
        .await
        .expect("listener stops")
        .expect("listener task");
}

#[tokio::test]
async fn garbage_and_cut_frames_over_tls_are_kept_raw_and_counted() {
    let pki = pki();
    let mut h = gate(true);
    let config = ListenerConfig {
        frame: super::super::FrameLimits {
            max_frame_size: 64,
            max_len_digits: 5,
        },
        ..ListenerConfig::default()
    };
    let (listening, stop) = start_tls(&pki, h.gate.clone(), config).await;
    let addr = listening.local_addr().expect("addr");
    let mut stream = b"not syslog at all\n".to_vec();
    stream.extend(octet(&[b'x'; 100]));
    stream.extend(octet(b"<13>1 - - - - - - fine"));
    stream.extend(b"30 <13>1 - - cut");
    let mut c = pki
        .connect(addr, pki.client_identity())
        .await
        .expect("client");
    c.write_all(&stream).await.expect("write");
    c.shutdown().await.expect("close");
    let got = h.frames(4).await;
    assert_eq!(&got[0].raw[..], b"not syslog at all");
    assert!(matches!(got[0].message, Err(ParseError::NoPri { .. })));
    assert!(matches!(
        &got[1].message,
        Err(ParseError::Framing(FrameError::Oversize {
            len: 100,
            limit: 64,
            ..
        }))
    ));
    assert_eq!(got[1].raw, Bytes::from(vec![b'x'; 64]));
    assert!(got[2].is_valid());
    assert!(matches!(
        &got[3].message,
        Err(ParseError::Framing(FrameError::Truncated {
            declared: Some(30),
            received: 13,
            ..
        }))
    ));
    assert_eq!(&got[3].raw[..], b"<13>1 - - cut");
    let seqs: Vec<u64> = got.iter().map(|r| r.frame_seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3]);
    assert!(got.iter().all(|r| r.connection_id == got[0].connection_id));
    assert_eq!(listening.stats().parse_failures(), 3);

    // Another connection gets another id.
    let mut c = pki
        .connect(addr, pki.client_identity())
        .await
        .expect("client");
    c.write_all(&octet(b"<13>1 - - - - - - again"))
        .await
        .expect("write");
    c.shutdown().await.expect("close");
    let again = h.frames(1).await;
    assert_ne!(again[0].connection_id, got[0].connection_id);
    assert_eq!(again[0].frame_seq, 0);
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), listening.join())
        .await
        .expect("listener stops")
        .expect("listener task");
}

#[tokio::test]
async fn shutdown_lets_connections_finish_their_current_batch() {
    let pki = pki();
    let mut h = gate(false);
    let (listening, stop) = start_tls(&pki, h.gate.clone(), ListenerConfig::default()).await;
    let addr = listening.local_addr().expect("addr");
    let mut c = pki
        .connect(addr, pki.client_identity())
        .await
        .expect("client");
    c.write_all(&octet(b"<13>1 - - - - - - in flight"))
        .await
        .expect("write");
    // A partial frame after it, still open when the listener is stopped.
    c.write_all(b"40 <13>1 - - partial").await.expect("write");
    wait_until("the batch to be handed over", || {
        h.gate.calls.load(Ordering::SeqCst) == 1
    })
    .await;
    stop.send_replace(true);
    let mut join = tokio::spawn(listening.join());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut join)
            .await
            .is_err(),
        "the listener waits for the batch in flight"
    );
    h.open.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), join)
        .await
        .expect("listener stops")
        .expect("join")
        .expect("listener task");
    let got = h.frames(1).await;
    assert_eq!(&got[0].raw[..], b"<13>1 - - - - - - in flight");
    // What was read of the partial frame is handed over as a truncated item, if it was read
    // before the shutdown; it never vanishes without a trace.
    let rest: Vec<Received> = std::iter::from_fn(|| h.batches.try_recv().ok())
        .flatten()
        .collect();
    for r in &rest {
        assert!(matches!(
            r.message,
            Err(ParseError::Framing(FrameError::Truncated { .. }))
        ));
    }
}

#[tokio::test]
async fn udp_drops_when_the_queue_is_full_and_counts_them() {
    let metrics = crate::metrics::handle();
    let mut h = gate(false);
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let (stop, stop_rx) = watch::channel(false);
    let config = ListenerConfig {
        udp_queue: 4,
        udp_batch_max: 1,
        ..ListenerConfig::default()
    };
    let listening = serve_udp(socket, h.gate.clone(), config, stop_rx);
    let addr = listening.local_addr().expect("addr");
    let sender = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    const SENT: u64 = 50;
    for i in 0..SENT {
        sender
            .send_to(format!("<13>1 - - - - - - {i}").as_bytes(), addr)
            .await
            .expect("send");
    }
    let stats = listening.stats().clone();
    wait_until("every datagram to be seen", || stats.frames() == SENT).await;
    let dropped = stats.udp_dropped();
    // At most the queue (4) plus the batch in the blocked `Ingest` (1) are kept.
    assert!(dropped >= SENT - 5, "dropped {dropped}");
    h.open.send_replace(true);
    let kept = h.frames((SENT - dropped) as usize).await;
    let numbers: Vec<u64> = kept
        .iter()
        .map(|r| {
            let m = r.message.as_ref().expect("parses");
            std::str::from_utf8(&m.msg)
                .ok()
                .and_then(|s| s.parse().ok())
                .expect("number")
        })
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    let rendered = metrics.render();
    let counter = rendered
        .lines()
        .find(|l| l.starts_with("hiehub_syslog_udp_dropped_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok());
    assert!(
        counter.is_some_and(|c| c >= dropped as f64),
        "metric: {counter:?}\n{rendered}"
    );
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), listening.join())
        .await
        .expect("listener stops")
        .expect("listener task");
}

#[tokio::test]
async fn a_closure_is_an_ingest_and_udp_keeps_the_datagram_as_is() {
    let (tx, mut rx) = mpsc::unbounded_channel::<Received>();
    let ingest = Arc::new(move |batch: Vec<Received>| {
        let tx = tx.clone();
        async move {
            for r in batch {
                tx.send(r).map_err(|e| IngestError {
                    reason: e.to_string(),
                })?;
            }
            Ok(())
        }
    });
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let (stop, stop_rx) = watch::channel(false);
    let listening = serve_udp(socket, ingest, ListenerConfig::default(), stop_rx);
    let addr = listening.local_addr().expect("addr");
    let sender = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    // RFC 5426 has no trailer: a sender's LF is part of the message.
    let datagram = b"<85>1 - - - - DICOM+RFC3881 - <AuditMessage/>\n";
    sender.send_to(datagram, addr).await.expect("send");
    let r = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("received")
        .expect("a frame");
    assert_eq!(&r.raw[..], datagram);
    let m = r.message.as_ref().expect("parses");
    assert_eq!(&m.msg[..], b"<AuditMessage/>\n");
    assert!(m.is_audit_message());
    assert_eq!(r.peer, sender.local_addr().expect("addr"));
    assert!(r.connection_id.starts_with("udp-"));
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), listening.join())
        .await
        .expect("listener stops")
        .expect("listener task");
}
