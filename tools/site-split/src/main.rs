//! `site-split <frontend.wasm> <pkg dir> <output name>`: splits the wasm at its
//! `#[lazy]` points exactly as `cargo leptos build --split` does (cargo-leptos
//! 0.3.10, `src/wasm_split_tools/mod.rs`), so scripts/build-site.sh can build
//! the site without compiling cargo-leptos. It writes `<stem>_split.wasm`
//! beside the input (the main module, for wasm-bindgen), and into the pkg
//! dir the split and chunk modules, the loader and `__wasm_split_manifest.json`.
//!
//! Three positional arguments, so no argument parser: the tool is compiled
//! on a first start, where every second counts.
use std::{error::Error, path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--version") {
        println!("site-split {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let [input, pkg, output_name] = args.as_slice() else {
        eprintln!("usage: site-split <frontend.wasm> <pkg dir> <output name>");
        return ExitCode::from(2);
    };
    match split(input.into(), pkg.into(), output_name) {
        Ok(modules) => {
            println!("site-split: {modules} split and chunk modules");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("site-split: {error}");
            ExitCode::FAILURE
        }
    }
}

fn split(input: PathBuf, pkg: PathBuf, output_name: &str) -> Result<usize, Box<dyn Error>> {
    let wasm = std::fs::read(&input)?;
    let stem = input.file_stem().ok_or("the input has no file name")?.to_string_lossy();
    let main_out = input.with_file_name(format!("{stem}_split.wasm"));
    let main_module = format!("./{output_name}.js");
    let mut options = wasm_split_cli_support::Options::new(&wasm);
    options.output_dir = &pkg;
    options.main_out_path = &main_out;
    options.main_module = &main_module;
    // The underscores stand for the loader's content hash, which the hashing
    // step puts in (leptos looks for this name).
    options.link_name = "./__wasm_split.______________________.js";
    let split = wasm_split_cli_support::transform(options).map_err(|e| format!("{e:#}"))?;
    // Pretty and in HashMap order, as cargo-leptos writes it; the hashing step
    // rewrites it with sorted keys.
    std::fs::write(
        pkg.join("__wasm_split_manifest.json"),
        serde_json::to_string_pretty(&split.prefetch_map)?,
    )?;
    Ok(split.split_modules.len())
}
