//! Rebuild when migrations change (they are embedded by `sqlx::migrate!`), and embed the
//! files of `static/` with a content hash in their URLs so browsers never keep stale ones.

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::{env, fs};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=static");
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let static_dir = root.join("static");
    let mut paths = Vec::new();
    files(&static_dir, &mut paths);

    // DefaultHasher::new() uses fixed keys: the same files give the same version.
    let mut hasher = DefaultHasher::new();
    let mut entries = String::new();
    for path in &paths {
        let relative = path
            .strip_prefix(&static_dir)
            .unwrap()
            .to_str()
            .unwrap()
            .replace('\\', "/");
        hasher.write(relative.as_bytes());
        hasher.write(&fs::read(path).unwrap());
        entries.push_str(&format!(
            "    ({relative:?}, include_bytes!({:?})),\n",
            path.to_str().unwrap()
        ));
    }
    let generated = format!(
        "/// Content hash of every static file: part of their URLs.\n\
         pub const VERSION: &str = \"{:012x}\";\n\
         /// Every file of static/, by its path under static/.\n\
         pub static FILES: &[(&str, &[u8])] = &[\n{entries}];\n",
        hasher.finish() & 0xffff_ffff_ffff
    );
    fs::write(
        PathBuf::from(env::var("OUT_DIR").unwrap()).join("static_files.rs"),
        generated,
    )
    .unwrap();
}
