//! HTML text: escaping and the page frame with its style sheet.

/// `text` safe inside HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page around `body`, with the script that pages and filters its lists. The favicon is an empty data URL: without one a browser asks
/// for `/favicon.ico`, which fails (a console error) when the file is opened from disk.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <link rel=\"icon\" href=\"data:,\">\n<title>{}</title>\n<style>\n{}</style>\n</head>\n\
         <body>\n<main>\n{body}</main>\n<script>\n{}</script>\n</body>\n</html>\n",
        escape(title),
        include_str!("style.css"),
        include_str!("lists.js")
    )
}

/// A colour from white (0) through amber to red (1), for heat maps.
pub fn heat(value: f64) -> String {
    let v = value.clamp(0.0, 1.0);
    // Hue 50 (amber) down to 0 (red); lightness from white to a saturated tone.
    let hue = 50.0 * (1.0 - v);
    let lightness = 100.0 - 45.0 * v;
    format!("hsl({hue:.0}, 90%, {lightness:.0}%)")
}

/// A colour from white (0) to a deep blue (1), for training weights: a colour of their own,
/// so that code trained on harder does not look like a fault.
pub fn weight_shade(value: f64) -> String {
    let v = value.clamp(0.0, 1.0);
    let lightness = 100.0 - 38.0 * v;
    format!("hsl(212, 85%, {lightness:.0}%)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("a<b && \"c\"'"),
            "a&lt;b &amp;&amp; &quot;c&quot;&#39;"
        );
    }
}
