//! Embeds every file of `schemas/` (XSDs, WSDLs) and of `dicom-viewer/` (the browser viewer) so
//! the running server needs nothing beside it.

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
    embed_viewer(std::path::Path::new(&manifest));
}

/// Every regular file under `dicom-viewer/` (recursively, dot-files and `node_modules` and
/// test output skipped) → `viewer_files.rs`: `(relative path with '/', bytes)`. The directory
/// may be missing or empty (then the list is empty).
fn embed_viewer(manifest: &std::path::Path) {
    let root = manifest.join("dicom-viewer");
    println!("cargo:rerun-if-changed=dicom-viewer");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in rd.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "node_modules" || name == "test-results" {
                continue;
            }
            if path.is_dir() {
                println!("cargo:rerun-if-changed={}", path.display());
                stack.push(path);
            } else if path.is_file() {
                println!("cargo:rerun-if-changed={}", path.display());
                files.push(path);
            }
        }
    }
    files.sort();
    let out =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("viewer_files.rs");
    let mut f = std::fs::File::create(out).expect("create viewer_files.rs");
    writeln!(f, "pub static FILES: &[(&str, &[u8])] = &[").expect("write");
    for p in files {
        let Ok(rel) = p.strip_prefix(&root) else {
            continue;
        };
        let rel: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        writeln!(
            f,
            "    ({:?}, include_bytes!({:?})),",
            rel.join("/"),
            p.display().to_string()
        )
        .expect("write");
    }
    writeln!(f, "];").expect("write");
}
