//! The browser's entry point: `hydrate` takes over the HTML the server
//! rendered and makes it live.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    // In the release build a panic aborts at once, with no hook to call
    // (`cargo xtask release`): the hook would only weigh.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
