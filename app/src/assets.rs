//! The storefront's built files and the tags that load them. `scripts/build-site.sh` names each
//! file after a hash of its content (`sellout.3f9a….js`) and lists the names in
//! `pkg/assets.json`, so a browser or a CDN may keep them for a year: a new build is a new name.
//! Without that list (a site built by hand, or none at all in the Rust tests) the plain
//! `wasm-bindgen` names are used.

use leptos::prelude::*;

/// The list `build-site.sh` writes next to the files.
pub const MANIFEST: &str = "assets.json";

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Assets {
    pub js: String,
    pub wasm: String,
    pub css: String,
}

impl Default for Assets {
    fn default() -> Self {
        Self { js: "sellout.js".into(), wasm: "sellout_bg.wasm".into(), css: "sellout.css".into() }
    }
}

impl Assets {
    /// The names listed under `pkg_dir`, read once per directory (a process may serve several
    /// sites in tests); the plain names when there is no readable list.
    #[cfg(feature = "ssr")]
    pub fn of(pkg_dir: &std::path::Path) -> std::sync::Arc<Assets> {
        use std::collections::HashMap;
        use std::sync::{Arc, Mutex};
        static READ: Mutex<Option<HashMap<std::path::PathBuf, Arc<Assets>>>> = Mutex::new(None);
        let mut read = READ.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let read = read.get_or_insert_with(HashMap::new);
        if let Some(known) = read.get(pkg_dir) {
            return known.clone();
        }
        read.entry(pkg_dir.to_path_buf())
            .or_insert_with(|| {
                let path = pkg_dir.join(MANIFEST);
                match std::fs::read_to_string(&path) {
                    Ok(text) => Arc::new(serde_json::from_str(&text).unwrap_or_else(|e| {
                        tracing::warn!(error = %e, path = %path.display(), "unreadable asset list: using the plain file names");
                        Assets::default()
                    })),
                    Err(_) => Arc::new(Assets::default()),
                }
            })
            .clone()
    }
}

/// Scripts the operator has every page load (`SELLOUT_PAGE_SCRIPTS`: analytics, say), given in
/// the context of each rendering; the page's policy allows them by the nonce they are sent with.
#[derive(Clone, Debug, Default)]
pub struct PageScripts(pub std::sync::Arc<[String]>);

/// The stylesheet, the preloads and the script that hydrates the page (what Leptos'
/// `HydrationScripts` does, with our hashed names), then the operator's page scripts.
/// Server-only: it is part of the shell. Every script and the module preload carry the
/// rendering's nonce: under `'strict-dynamic'` nothing else runs or is fetched as a script.
#[component]
pub fn SiteAssets(options: LeptosOptions) -> impl IntoView {
    let pkg = format!("/{}", options.site_pkg_dir);
    #[cfg(feature = "ssr")]
    let assets = Assets::of(&std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir));
    #[cfg(not(feature = "ssr"))]
    let assets = std::sync::Arc::new(Assets::default());
    let js = format!("{pkg}/{}", assets.js);
    let wasm = format!("{pkg}/{}", assets.wasm);
    let css = format!("{pkg}/{}", assets.css);
    let script = format!("import({js:?}).then(m => m.default({{ module_or_path: {wasm:?} }}).then(() => m.hydrate()));");
    // The page's Content-Security-Policy lets only scripts with this rendering's nonce run inline.
    let nonce = leptos::nonce::use_nonce();
    let page_scripts = use_context::<PageScripts>().unwrap_or_default();
    view! {
        <link rel="stylesheet" href=css />
        <link rel="modulepreload" href=js nonce=nonce.clone() />
        <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin="" />
        <script type="module" nonce=nonce.clone()>{script}</script>
        {page_scripts.0.iter().map(|src| view! { <script src=src.clone() nonce=nonce.clone() defer=true></script> }).collect_view()}
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_the_files_and_without_one_the_plain_names_are_used() {
        let dir = std::env::temp_dir().join(format!("sellout_assets_{}", std::process::id()));
        let listed = dir.join("listed");
        std::fs::create_dir_all(&listed).unwrap();
        std::fs::write(listed.join(MANIFEST), r#"{"js":"sellout.aa.js","wasm":"sellout_bg.bb.wasm","css":"sellout.cc.css"}"#).unwrap();
        let a = Assets::of(&listed);
        assert_eq!((a.js.as_str(), a.wasm.as_str(), a.css.as_str()), ("sellout.aa.js", "sellout_bg.bb.wasm", "sellout.cc.css"));
        assert_eq!(*Assets::of(&dir.join("none")), Assets::default());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
