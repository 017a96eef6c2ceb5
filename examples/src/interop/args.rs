//! Command-line flags in the interop style: `--name=value` or
//! `--name value`, booleans as `true`/`false`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// Parsed `--name value` flags.
#[derive(Debug, Default)]
pub struct Flags {
    values: HashMap<String, String>,
}

/// A flag is unknown, repeated, missing its value, or its value is invalid.
#[derive(Debug)]
pub struct FlagError(String);

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FlagError {}

impl Flags {
    /// Parses `args` (without the program name), accepting only `known` names.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        known: &[&str],
    ) -> Result<Flags, FlagError> {
        let mut values = HashMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(FlagError(format!("unexpected argument {arg:?}")));
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    let value = args
                        .next()
                        .ok_or_else(|| FlagError(format!("--{flag} needs a value")))?;
                    (flag.to_owned(), value)
                }
            };
            if !known.contains(&name.as_str()) {
                return Err(FlagError(format!(
                    "unknown flag --{name}; known: --{}",
                    known.join(", --")
                )));
            }
            if values.insert(name.clone(), value).is_some() {
                return Err(FlagError(format!("--{name} given twice")));
            }
        }
        Ok(Flags { values })
    }

    /// The raw value of `--name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// `--name` parsed, or `default` when absent.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, FlagError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| FlagError(format!("invalid --{name}={raw}: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Flags, FlagError> {
        Flags::parse(args.iter().map(|s| s.to_string()), &["port", "use_tls"])
    }

    #[test]
    fn both_flag_forms_parse_and_unknown_flags_are_refused() {
        let flags = parse(&["--port=8080", "--use_tls", "true"]).unwrap();
        assert_eq!(flags.parse_or("port", 0u16).unwrap(), 8080);
        assert!(flags.parse_or("use_tls", false).unwrap());
        assert!(parse(&["--nope=1"])
            .unwrap_err()
            .to_string()
            .contains("unknown"));
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port=1", "--port=2"]).is_err());
        assert!(parse(&["--port=x"])
            .unwrap()
            .parse_or("port", 0u16)
            .is_err());
    }
}
