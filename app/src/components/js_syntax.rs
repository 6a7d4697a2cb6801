//! Advice on whether JavaScript parses, computed in the browser by parsing
//! (never running) it with acorn, a small parser served from `/vendor`. The
//! server does not judge: a library that does not parse may still be saved.
use leptos::prelude::*;

/// Where the code stops parsing, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxProblem {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl SyntaxProblem {
    pub fn describe(&self) -> String {
        let message = self.message.trim_end();
        // The parser's messages mostly end without a full stop; the hint
        // after them is another sentence.
        let stop = if message.ends_with(['.', '!', '?']) { "" } else { "." };
        format!("Line {}, column {}: {message}{stop}", self.line, self.column)
    }
}

/// Reads what `window.consoleCheckJs` answers: "" when the code parses.
pub fn parse_answer(answer: &str) -> Option<SyntaxProblem> {
    let mut parts = answer.splitn(3, '\t');
    let line = parts.next()?.parse().ok()?;
    let column = parts.next()?.parse().ok()?;
    Some(SyntaxProblem { line, column, message: parts.next().unwrap_or("").to_owned() })
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = window, js_name = consoleCheckJs)]
        fn console_check_js(code: &str) -> Result<JsValue, JsValue>;
    }

    /// Adds the parser's scripts to the page once.
    pub fn load_parser() {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        for (id, src) in [("acorn", "/vendor/acorn-8.19.0.js"), ("js-check", "/js-check.js")] {
            if document.get_element_by_id(id).is_some() {
                continue;
            }
            if let (Ok(script), Some(body)) = (document.create_element("script"), document.body()) {
                let _ = script.set_attribute("id", id);
                let _ = script.set_attribute("src", src);
                let _ = body.append_child(&script);
            }
        }
    }

    /// `None` while the parser is not loaded yet.
    pub fn check(code: &str) -> Option<String> {
        console_check_js(code).ok().and_then(|v| v.as_string())
    }
}

/// The syntax problem of `code` as it changes; `None` when it parses (or
/// until the parser has loaded, or on the server).
pub fn syntax_problem(code: Signal<String>) -> Signal<Option<SyntaxProblem>> {
    #[cfg(feature = "hydrate")]
    {
        Effect::new(|_| browser::load_parser());
        Signal::derive(move || {
            let code = code.get();
            if code.trim().is_empty() {
                return None;
            }
            browser::check(&code).and_then(|answer| parse_answer(&answer))
        })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = code;
        Signal::derive(|| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(parse_answer(""), None);
        let problem = parse_answer("3\t7\tUnexpected token").unwrap();
        // Another sentence follows it: the parser's message gets its full stop.
        assert_eq!(problem.describe(), "Line 3, column 7: Unexpected token.");
        let ended = parse_answer("1\t1\tUnterminated string.").unwrap();
        assert_eq!(ended.describe(), "Line 1, column 1: Unterminated string.");
    }
}
