#!/usr/bin/env bash
# Builds the floor as `cargo xtask release` builds the chat's WASM (every
# component erased, the wasm-release profile, the standard library built
# with it, wasm-bindgen, wasm-opt -Oz --converge)
# and prints its size raw and with brotli (quality 11, as --precompress).
# With `--server`, also builds `floor-server` and lays out its site in
# target/floor/site (the WASM and its glue, each with its brotli copy) for
# scenario 5b: `target/release/floor-server 127.0.0.1:3220 target/floor/site`.
# Needs the tools `cargo xtask setup` installs, and Python's brotli.
set -euo pipefail
cd "$(dirname "$0")"
# The size flags `cargo xtask release` gives the chat's WASM
# (WASM_SIZE_CARGO_ARGS and WASM_SIZE_RUSTFLAGS in crates/xtask). The
# library is built as a cdylib alone: with its rlib (which floor-server
# links) in the same build, the WASM weighed 98.8 KB with brotli, not 79 KB.
RUSTC_BOOTSTRAP=1 \
  RUSTFLAGS="--cfg erase_components -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
  cargo rustc -Zbuild-std=std,panic_abort --lib --crate-type cdylib --features hydrate --target wasm32-unknown-unknown --profile wasm-release
rm -rf target/floor && mkdir -p target/floor
wasm-bindgen --target web --out-dir target/floor target/wasm32-unknown-unknown/wasm-release/wasm_floor.wasm
wasm-opt -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals target/floor/wasm_floor_bg.wasm -o target/floor/opt.wasm
python3 -c "import brotli; d = open('target/floor/opt.wasm', 'rb').read(); print(f'WASM {len(d)} bytes raw, {len(brotli.compress(d, quality=11))} with brotli')"
if [[ "${1:-}" == "--server" ]]; then
  # Components erased on the server too, as cargo-leptos builds the chat's
  # server: the page it renders must be the one the WASM hydrates.
  RUSTFLAGS="--cfg erase_components" cargo build --release --features ssr --bin floor-server
  mkdir -p target/floor/site/pkg
  cp target/floor/wasm_floor.js target/floor/site/pkg/wasm_floor.js
  cp target/floor/opt.wasm target/floor/site/pkg/wasm_floor_bg.wasm
  python3 -c "
import brotli, pathlib
for f in pathlib.Path('target/floor/site/pkg').glob('wasm_floor*[sm]'):
    f.with_name(f.name + '.br').write_bytes(brotli.compress(f.read_bytes(), quality=11))
"
  echo "floor-server: target/release/floor-server ADDR $PWD/target/floor/site"
fi
