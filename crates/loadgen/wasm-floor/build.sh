#!/usr/bin/env bash
# Builds the floor as `cargo xtask release` builds the chat's WASM (every
# component erased, the wasm-release profile, the standard library built
# with it, wasm-bindgen, wasm-opt -Oz --converge)
# and prints its size raw and with brotli (quality 11, as --precompress).
# Needs the tools `cargo xtask setup` installs, and Python's brotli.
set -euo pipefail
cd "$(dirname "$0")"
# The size flags `cargo xtask release` gives the chat's WASM
# (WASM_SIZE_CARGO_ARGS and WASM_SIZE_RUSTFLAGS in crates/xtask).
RUSTC_BOOTSTRAP=1 \
  RUSTFLAGS="--cfg erase_components -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
  cargo build -Zbuild-std=std,panic_abort --lib --target wasm32-unknown-unknown --profile wasm-release
rm -rf target/floor && mkdir -p target/floor
wasm-bindgen --target web --out-dir target/floor target/wasm32-unknown-unknown/wasm-release/wasm_floor.wasm
wasm-opt -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals target/floor/wasm_floor_bg.wasm -o target/floor/opt.wasm
python3 -c "import brotli; d = open('target/floor/opt.wasm', 'rb').read(); print(f'WASM {len(d)} bytes raw, {len(brotli.compress(d, quality=11))} with brotli')"
