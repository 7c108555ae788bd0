//! The subset of JSON a safetensors header uses, parsed in place from a
//! borrowed `&str`: objects, arrays, strings and non-negative integers.
//! Nothing is allocated and nothing recurses deeper than the header's fixed
//! structure, so hostile input can neither exhaust memory nor the stack.

/// A syntax error at a byte offset of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct JsonError {
    pub offset: usize,
    pub what: &'static str,
}

/// A JSON string's raw contents (between the quotes, escapes undecoded;
/// validated when read).
#[derive(Clone, Copy, Debug)]
pub(crate) struct JsonStr<'a> {
    raw: &'a str,
}

impl<'a> JsonStr<'a> {
    /// The decoded characters (an unpaired surrogate escape decodes as
    /// U+FFFD).
    pub fn chars(&self) -> Chars<'a> {
        Chars { it: self.raw.chars() }
    }

    /// Whether the decoded string equals `s`.
    pub fn is(&self, s: &str) -> bool {
        self.chars().eq(s.chars())
    }
}

/// Iterator over a [`JsonStr`]'s decoded characters.
#[derive(Clone)]
pub(crate) struct Chars<'a> {
    it: core::str::Chars<'a>,
}

impl Chars<'_> {
    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0;
        for _ in 0..4 {
            v = v * 16 + self.it.next()?.to_digit(16)?;
        }
        Some(v)
    }
}

impl Iterator for Chars<'_> {
    type Item = char;
    fn next(&mut self) -> Option<char> {
        let c = self.it.next()?;
        if c != '\\' {
            return Some(c);
        }
        Some(match self.it.next()? {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) {
                    // A high surrogate: combine with a following \uDC00..\uDFFF.
                    let rest = self.it.clone();
                    let mut peek = Chars { it: rest };
                    if peek.it.next() == Some('\\')
                        && peek.it.next() == Some('u')
                        && let Some(lo) = peek.hex4().filter(|lo| (0xDC00..0xE000).contains(lo))
                    {
                        self.it = peek.it;
                        let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        return Some(char::from_u32(c).unwrap_or('\u{FFFD}'));
                    }
                    '\u{FFFD}'
                } else {
                    char::from_u32(hi).unwrap_or('\u{FFFD}')
                }
            }
            other => other, // '"', '\\', '/'
        })
    }
}

/// A cursor over a JSON text that starts at byte `base` of the file.
pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
    base: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(s: &'a str, base: usize) -> Self {
        Self { s, pos: 0, base }
    }

    pub fn err(&self, what: &'static str) -> JsonError {
        JsonError { offset: self.base + self.pos, what }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Skips whitespace, then consumes `c` if it is next.
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), JsonError> {
        if self.eat(c) { Ok(()) } else { Err(self.err(what)) }
    }

    /// Whitespace to the end of the text.
    pub fn end(&mut self) -> Result<(), JsonError> {
        self.ws();
        if self.pos == self.s.len() {
            Ok(())
        } else {
            Err(self.err("text after the header object"))
        }
    }

    /// The byte offset (in the file) of the next non-whitespace byte.
    pub fn offset(&mut self) -> usize {
        self.ws();
        self.base + self.pos
    }

    /// A string.
    pub fn string(&mut self) -> Result<JsonStr<'a>, JsonError> {
        self.expect(b'"', "expected a string")?;
        let start = self.pos;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            match c {
                b'"' => break,
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                        Some(b'u') => {
                            for _ in 0..4 {
                                self.pos += 1;
                                if !self.peek().is_some_and(|h| h.is_ascii_hexdigit()) {
                                    return Err(self.err("bad \\u escape"));
                                }
                            }
                        }
                        _ => return Err(self.err("bad escape in string")),
                    }
                }
                0..0x20 => return Err(self.err("control character in string")),
                _ => {}
            }
            self.pos += 1;
        }
        // Both ends are ASCII quotes, so this is a char boundary.
        let raw = self.s.get(start..self.pos).ok_or(self.err("bad string"))?;
        self.pos += 1;
        Ok(JsonStr { raw })
    }

    /// A non-negative integer that fits in a `u64`.
    pub fn uint(&mut self) -> Result<u64, JsonError> {
        self.ws();
        match self.peek() {
            Some(b'0'..=b'9') => {}
            Some(b'-') => return Err(self.err("negative number")),
            _ => return Err(self.err("expected a number")),
        }
        let start = self.pos;
        let mut v: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add((d - b'0') as u64))
                .ok_or(self.err("number too large"))?;
            self.pos += 1;
        }
        if self.pos - start > 1 && self.s.as_bytes()[start] == b'0' {
            return Err(JsonError {
                offset: self.base + start,
                what: "number with a leading zero",
            });
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return Err(self.err("number is not an integer"));
        }
        Ok(v)
    }

    /// An object: calls `f(self, key)` with the cursor before each member's
    /// value; `f` must consume the value.
    pub fn object<E: From<JsonError>>(
        &mut self,
        mut f: impl FnMut(&mut Self, JsonStr<'a>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.expect(b'{', "expected an object")?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':', "expected ':'")?;
            f(self, key)?;
            if self.eat(b',') {
                continue;
            }
            self.expect(b'}', "expected ',' or '}'")?;
            return Ok(());
        }
    }

    /// An array: calls `f(self)` before each element; `f` must consume it.
    pub fn array<E: From<JsonError>>(
        &mut self,
        mut f: impl FnMut(&mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        self.expect(b'[', "expected an array")?;
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            f(self)?;
            if self.eat(b',') {
                continue;
            }
            self.expect(b']', "expected ',' or ']'")?;
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_string(s: &str) -> Result<JsonStr<'_>, JsonError> {
        let mut c = Cursor::new(s, 0);
        let v = c.string()?;
        c.end()?;
        Ok(v)
    }

    #[test]
    fn strings_decode_escapes() {
        assert!(one_string(r#""0.weight""#).unwrap().is("0.weight"));
        assert!(one_string(r#""\u0030.w\u00e9\n""#).unwrap().is("0.wé\n"));
        assert!(one_string(r#""\ud83d\ude00""#).unwrap().is("😀"));
        assert!(one_string(r#""\ud83d!""#).unwrap().is("\u{FFFD}!"));
        assert!(one_string(r#""a\"b\\c\/""#).unwrap().is("a\"b\\c/"));
        assert_eq!(one_string(r#""abc"#).unwrap_err().what, "unterminated string");
        assert_eq!(one_string(r#""a\qb""#).unwrap_err().what, "bad escape in string");
        assert_eq!(one_string(r#""\u12g4""#).unwrap_err().what, "bad \\u escape");
        assert_eq!(
            one_string("\"a\nb\"").unwrap_err(),
            JsonError { offset: 2, what: "control character in string" }
        );
        assert_eq!(one_string(r#""a" x"#).unwrap_err().what, "text after the header object");
    }

    #[test]
    fn integers_only() {
        let num = |s: &str| Cursor::new(s, 0).uint();
        assert_eq!(num(" 0"), Ok(0));
        assert_eq!(num("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(num("18446744073709551616").unwrap_err().what, "number too large");
        assert_eq!(num("-1").unwrap_err().what, "negative number");
        assert_eq!(num("01").unwrap_err().what, "number with a leading zero");
        assert_eq!(num("1.5").unwrap_err().what, "number is not an integer");
        assert_eq!(num("1e3").unwrap_err().what, "number is not an integer");
        assert_eq!(num("x").unwrap_err().what, "expected a number");
    }

    #[test]
    fn objects_and_arrays() {
        let mut c = Cursor::new(r#" { "a" : [1, 2 ,3], "b": [] , "c":{}} "#, 0);
        let mut sum = 0;
        let mut keys = 0;
        c.object::<JsonError>(|c, k| {
            keys += 1;
            if k.is("c") {
                c.object::<JsonError>(|_, _| Ok(()))
            } else {
                c.array(|c| {
                    sum += c.uint()?;
                    Ok(())
                })
            }
        })
        .unwrap();
        c.end().unwrap();
        assert_eq!((keys, sum), (3, 6));
        let bad = |s: &str| {
            let mut c = Cursor::new(s, 10);
            c.object::<JsonError>(|c, _| c.array(|c| c.uint().map(drop))).and_then(|_| c.end())
        };
        assert_eq!(bad(r#"{"a":[1,]}"#).unwrap_err().what, "expected a number");
        assert_eq!(
            bad(r#"{"a":[1 2]}"#).unwrap_err(),
            JsonError { offset: 18, what: "expected ',' or ']'" }
        );
        assert_eq!(bad(r#"{"a":[1],}"#).unwrap_err().what, "expected a string");
        assert_eq!(bad(r#"{"a" [1]}"#).unwrap_err().what, "expected ':'");
        assert_eq!(bad(r#"{"a":[1]"#).unwrap_err().what, "expected ',' or '}'");
        assert_eq!(bad(r#"[1]"#).unwrap_err().what, "expected an object");
        assert_eq!(bad(r#"{} {}"#).unwrap_err().what, "text after the header object");
    }
}
