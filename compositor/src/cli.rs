//! Command-line parsing, kept dependency-free: the surface is small.

use std::path::PathBuf;

use crate::backend::headless::VirtualOutput;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the compositor.
    Run {
        backend: Option<String>,
        config: Option<PathBuf>,
        /// Virtual outputs for the headless backend.
        outputs: Vec<VirtualOutput>,
    },
    /// `palisade scenario FILE`
    Scenario {
        file: PathBuf,
        config: Option<PathBuf>,
    },
    /// `palisade validate`
    Validate {
        config: Option<PathBuf>,
    },
    Help,
}

pub const USAGE: &str = "\
usage: palisade [--backend headless|winit|udev] [--config FILE] [--output WxH[@SCALE]]...
       palisade scenario FILE [--config FILE]
       palisade validate [--config FILE]

Without --backend: winit (nested) when WAYLAND_DISPLAY or DISPLAY is set, else udev.
The config defaults to /etc/palisade/config.toml, else the built-in default.";

/// Parse `WxH` or `WxH@SCALE`.
pub fn parse_output(s: &str) -> Result<VirtualOutput, String> {
    let (size, scale) = match s.split_once('@') {
        Some((size, scale)) => (
            size,
            scale
                .parse::<f64>()
                .map_err(|_| format!("bad scale in {s:?}"))?,
        ),
        None => (s, 1.0),
    };
    let (w, h) = size
        .split_once('x')
        .ok_or_else(|| format!("output {s:?} is not WxH"))?;
    let w: i32 = w.parse().map_err(|_| format!("bad width in {s:?}"))?;
    let h: i32 = h.parse().map_err(|_| format!("bad height in {s:?}"))?;
    if w <= 0 || h <= 0 || !(0.25..=8.0).contains(&scale) {
        return Err(format!("output {s:?} out of range"));
    }
    Ok(VirtualOutput {
        name: None,
        size: (w, h),
        scale,
    })
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut it = args.iter();
    let mut backend = None;
    let mut config = None;
    let mut outputs = Vec::new();
    let mut sub: Option<String> = None;
    let mut file = None;
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--backend" => backend = Some(value("--backend")?),
            "--config" => config = Some(PathBuf::from(value("--config")?)),
            "--output" => outputs.push(parse_output(&value("--output")?)?),
            "scenario" | "validate" if sub.is_none() => sub = Some(arg.clone()),
            other
                if sub.as_deref() == Some("scenario")
                    && file.is_none()
                    && !other.starts_with('-') =>
            {
                file = Some(PathBuf::from(other))
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    match sub.as_deref() {
        Some("scenario") => Ok(Command::Scenario {
            file: file.ok_or("scenario needs a FILE")?,
            config,
        }),
        Some("validate") => Ok(Command::Validate { config }),
        _ => Ok(Command::Run {
            backend,
            config,
            outputs,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_each_form() {
        assert_eq!(
            parse(&args("scenario a.toml --config c.toml")),
            Ok(Command::Scenario {
                file: "a.toml".into(),
                config: Some("c.toml".into())
            })
        );
        assert_eq!(
            parse(&args("validate")),
            Ok(Command::Validate { config: None })
        );
        let Ok(Command::Run {
            backend, outputs, ..
        }) = parse(&args("--backend headless --output 800x600@2"))
        else {
            panic!("run form did not parse");
        };
        assert_eq!(backend.as_deref(), Some("headless"));
        assert_eq!(outputs[0].size, (800, 600));
        assert_eq!(outputs[0].scale, 2.0);
        assert!(parse(&args("--bogus")).is_err());
        assert!(parse(&args("scenario")).is_err());
        assert!(parse_output("0x10").is_err());
    }
}
