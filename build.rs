//! Embeds every file of `schemas/` (XSDs, WSDLs) so the running server needs nothing beside it.

use std::io::Write;

fn main() {
    // The manifest dir at run time of the build script (not `env!`, which would bake in the path
    // of whichever checkout first compiled the script).
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let dir = std::path::Path::new(&manifest).join("schemas");
    println!("cargo:rerun-if-changed=schemas");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.is_file()
            && matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("xsd") | Some("wsdl")
            )
    });
    files.sort();
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("schemas.rs");
    let mut f = std::fs::File::create(out).expect("create schemas.rs");
    writeln!(f, "pub static FILES: &[(&str, &[u8])] = &[").expect("write");
    for p in files {
        let name = p.file_name().and_then(|n| n.to_str()).expect("utf-8 name");
        writeln!(
            f,
            "    ({name:?}, include_bytes!({:?})),",
            p.display().to_string()
        )
        .expect("write");
    }
    writeln!(f, "];").expect("write");
}
