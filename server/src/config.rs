//! Configuration: flags, their env twins, and a TOML file whose keys are the
//! flag names (`listen = "0.0.0.0:4455"`, `allowed-origin = ["https://…"]`).
//! Precedence: flag > env > file > default.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::auth::Level;

/// weft-server: the sync server for Weft. Speaks the y-websocket protocol at
/// ws://HOST:PORT/<doc-id>, so any Yjs client can use it, and stores every
/// document durably in SQLite.
#[derive(Debug, Clone, Parser)]
#[command(name = "weft-server", version, about, long_about = None)]
pub struct Config {
    /// Something other than serving.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// TOML file with defaults for any flag (keys are flag names). Without it, /etc/weft/server.toml is read if present.
    #[arg(global = true, long, env = "WEFT_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address to listen on (host:port). Port 0 picks a free port.
    #[arg(
        global = true,
        long,
        env = "WEFT_LISTEN",
        default_value = "127.0.0.1:4455"
    )]
    pub listen: String,

    /// Directory holding the SQLite database (weft.db). Created if missing.
    #[arg(
        global = true,
        long,
        env = "WEFT_DATA_DIR",
        default_value = "./weft-data"
    )]
    pub data_dir: PathBuf,

    /// Store documents in PostgreSQL instead of SQLite (postgres://user:pass@host/db). Needed to run several nodes.
    #[arg(global = true, long, env = "WEFT_STORE", conflicts_with = "in_memory", value_parser = parse_store)]
    pub store: Option<String>,

    /// Fan updates and presence out between nodes through Redis Streams (redis://host:6379). Needs --store postgres://.
    #[arg(global = true, long, env = "WEFT_REDIS", requires = "store")]
    pub redis: Option<String>,

    /// Keep documents in memory only (nothing survives a restart). For tests and benchmarks.
    #[arg(global = true, long, env = "WEFT_IN_MEMORY")]
    pub in_memory: bool,

    /// Most simultaneous WebSocket connections; further upgrades get HTTP 503.
    #[arg(
        global = true,
        long,
        env = "WEFT_MAX_CONNECTIONS",
        default_value_t = 10_000
    )]
    pub max_connections: usize,

    /// Largest WebSocket message (e.g. 16MiB, 512KiB, or bytes); larger ones close the connection with 1009.
    #[arg(global = true, long, env = "WEFT_MAX_MESSAGE_SIZE", default_value = "16MiB", value_parser = parse_size::<usize>)]
    pub max_message_size: usize,

    /// Largest image or file one upload may be (e.g. 25MiB); larger ones get HTTP 413.
    #[arg(global = true, long, env = "WEFT_MAX_BLOB_SIZE", default_value = "25MiB", value_parser = parse_size::<u64>)]
    pub max_blob_size: u64,

    /// Most bytes of images and files one document may hold (e.g. 1GiB); uploads past it get HTTP 413.
    #[arg(global = true, long, env = "WEFT_BLOB_QUOTA", default_value = "1GiB", value_parser = parse_size::<u64>)]
    pub blob_quota: u64,

    /// Do not negotiate permessage-deflate: messages go uncompressed even to clients that offer it.
    #[arg(global = true, long, env = "WEFT_NO_DEFLATE")]
    pub no_deflate: bool,

    /// With permessage-deflate, compress messages of this size and more (e.g. 1KiB); smaller ones, like keystrokes, go as they are.
    #[arg(global = true, long, env = "WEFT_DEFLATE_MIN_SIZE", default_value = "1KiB", value_parser = parse_size::<usize>)]
    pub deflate_min_size: usize,

    /// Frames queued per connection before it counts as too slow and is closed with 1013.
    #[arg(global = true, long, env = "WEFT_SEND_QUEUE", default_value_t = 1024)]
    pub send_queue: usize,

    /// How long an open document stays unchanged before it is kept as its encoded bytes (it takes several times less memory) until the next change; it rests after one to two times this (e.g. 10s, 1m).
    #[arg(global = true, long, env = "WEFT_REST_AFTER", default_value = "10s", value_parser = humantime::parse_duration)]
    pub rest_after: Duration,

    /// How long a document with no connections stays in memory (e.g. 30s, 2m).
    #[arg(global = true, long, env = "WEFT_UNLOAD_AFTER", default_value = "30s", value_parser = humantime::parse_duration)]
    pub unload_after: Duration,

    /// Do not serve the web editor (`/`, `/d/<doc-id>`, `/assets/…`): those paths then answer 404.
    #[arg(global = true, long, env = "WEFT_NO_WEB")]
    pub no_web: bool,

    /// How long a document stays in the trash before it is deleted for good (e.g. 30days, 12h).
    #[arg(global = true, long, env = "WEFT_TRASH_RETENTION", default_value = "30days", value_parser = humantime::parse_duration)]
    pub trash_retention: Duration,

    /// How long an image or file no document or version names any more is kept before it is deleted (e.g. 1day, 12h).
    #[arg(global = true, long, env = "WEFT_BLOB_GRACE", default_value = "1day", value_parser = humantime::parse_duration)]
    pub blob_grace: Duration,

    /// At most one automatic version per this while a document is edited (e.g. 10m); one more when it unloads with changes.
    #[arg(global = true, long, env = "WEFT_VERSION_INTERVAL", default_value = "10m", value_parser = humantime::parse_duration)]
    pub version_interval: Duration,

    /// Automatic versions younger than this are all kept (e.g. 24h).
    #[arg(global = true, long, env = "WEFT_KEEP_ALL_VERSIONS", default_value = "24h", value_parser = humantime::parse_duration)]
    pub keep_all_versions: Duration,

    /// Then, up to this age, the last automatic version of each hour is kept (e.g. 7days).
    #[arg(global = true, long, env = "WEFT_KEEP_HOURLY_VERSIONS", default_value = "7days", value_parser = humantime::parse_duration)]
    pub keep_hourly_versions: Duration,

    /// Then, up to this age, the last of each day; older automatic versions are deleted. Named versions are kept forever.
    #[arg(global = true, long, env = "WEFT_KEEP_DAILY_VERSIONS", default_value = "90days", value_parser = humantime::parse_duration)]
    pub keep_daily_versions: Duration,

    /// How often to ping each connection; one silent for two intervals is closed.
    #[arg(global = true, long, env = "WEFT_PING_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub ping_interval: Duration,

    /// Logged updates after which a document is compacted into one snapshot.
    #[arg(
        global = true,
        long,
        env = "WEFT_COMPACT_AFTER",
        default_value_t = 1000
    )]
    pub compact_after: usize,

    /// The time versions and their retention go by (a test moves it by hand).
    #[arg(skip)]
    pub clock: weft_core::time::Clock,

    /// Require tokens signed with this HS256 secret (a file of at least 32 bytes).
    #[arg(
        global = true,
        long,
        env = "WEFT_AUTH_SECRET_FILE",
        conflicts_with = "auth_public_key_file"
    )]
    pub auth_secret_file: Option<PathBuf>,

    /// Require EdDSA tokens verified with this PEM public key.
    #[arg(global = true, long, env = "WEFT_AUTH_PUBLIC_KEY_FILE")]
    pub auth_public_key_file: Option<PathBuf>,

    /// The EdDSA PEM private key, to mint tokens (`token`, `POST /share/<doc>`).
    #[arg(
        global = true,
        long,
        env = "WEFT_AUTH_PRIVATE_KEY_FILE",
        requires = "auth_public_key_file"
    )]
    pub auth_private_key_file: Option<PathBuf>,

    /// Serve a non-loopback address without auth. Anyone who can reach it can read and write.
    #[arg(global = true, long, env = "WEFT_ALLOW_ANONYMOUS")]
    pub allow_anonymous: bool,

    /// Only accept WebSocket upgrades from these Origins (repeatable). Requests without an Origin are not browsers and pass.
    #[arg(
        global = true,
        long = "allowed-origin",
        env = "WEFT_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Messages per second one connection may send (token bucket, burst of 2 s; 0: unlimited); beyond it: close 1008.
    #[arg(global = true, long, env = "WEFT_RATE_MESSAGES", default_value_t = 200)]
    pub rate_messages: u32,

    /// Bytes per second one connection may send (e.g. 4MiB; token bucket, burst of 2 s, at least one max-size message; 0: unlimited); beyond it: close 1008.
    #[arg(global = true, long, env = "WEFT_RATE_BYTES", default_value = "4MiB", value_parser = parse_size::<u64>)]
    pub rate_bytes: u64,

    /// A reverse proxy (CIDR range or address; repeatable) whose X-Forwarded-For or Forwarded header names the client. Other peers' headers are ignored.
    #[arg(
        global = true,
        long = "trusted-proxy",
        env = "WEFT_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = crate::net::proxy::parse_cidr
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Connection attempts per minute from one IP address (0: unlimited); beyond it: HTTP 429.
    #[arg(global = true, long, env = "WEFT_RATE_CONNECTS", default_value_t = 600)]
    pub rate_connects: u32,

    /// New documents one token (per user and scope) or, without auth, one IP may create per hour (0: unlimited); beyond it: close 1008.
    #[arg(global = true, long, env = "WEFT_MAX_NEW_DOCS", default_value_t = 1000)]
    pub max_new_docs: u32,

    /// PEM certificate chain: serve wss:// (and https://) natively. Re-read when the file changes.
    #[arg(global = true, long, env = "WEFT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(global = true, long, env = "WEFT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// How long shutdown waits for connections to close before flushing.
    #[arg(global = true, long, env = "WEFT_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,
}

/// A size with a unit (`16MiB`, `4MB`, `512KiB`, `1 GiB`) or in bytes.
fn parse_size<T: TryFrom<u64>>(s: &str) -> Result<T, String> {
    let size: bytesize::ByteSize = s.trim().parse().map_err(|e| {
        format!("{e} (expected a size such as 16MiB, 4MB, 512KiB or a number of bytes)")
    })?;
    T::try_from(size.as_u64()).map_err(|_| format!("{s} is too large"))
}

fn parse_store(s: &str) -> Result<String, String> {
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        Ok(s.to_owned())
    } else {
        Err("expected a postgres:// URL (SQLite is the default: leave --store out)".into())
    }
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Copy the database to FILE with SQLite's online backup API. Safe while
    /// the server runs: the copy holds everything acked before it began.
    Backup {
        /// Where to write the backup.
        file: PathBuf,
    },
    /// Put a backup back as the database (the server must be stopped). The
    /// database it replaces is kept beside it.
    Restore {
        /// The backup to restore.
        file: PathBuf,
    },
    /// Write every document as Markdown into DIR (DOC-ID.md), through the
    /// same converter as `weft cat`. Safe while the server runs.
    Export {
        /// The directory to write into (created if missing).
        dir: PathBuf,
    },
    /// Print a token signed with the configured key.
    Token {
        /// The doc id, or a prefix ending in `*`.
        #[arg(long)]
        doc: String,
        /// read, comment or write.
        #[arg(long, value_enum)]
        access: Level,
        /// How long it is valid (e.g. 1h, 7d).
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        /// The user, written to the server's logs.
        #[arg(long)]
        sub: Option<String>,
    },
}

impl Default for Config {
    fn default() -> Self {
        Config::parse_from(["weft-server"])
    }
}

/// The config file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/weft/server.toml";

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Bad flags or env values (or `--help`/`--version`).
    #[error(transparent)]
    Args(#[from] clap::Error),
    /// The config file could not be read or parsed.
    #[error("config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    /// Prints the error (or the help text) and exits, as clap does.
    pub fn exit(self) -> ! {
        match self {
            ConfigError::Args(e) => e.exit(),
            e => {
                eprintln!("error: {e}");
                std::process::exit(2)
            }
        }
    }
}

impl Config {
    /// Reads flags, env and the config file, in that order of precedence.
    pub fn load() -> Result<Config, ConfigError> {
        Self::load_from(std::env::args_os(), Path::new(DEFAULT_CONFIG_FILE))
    }

    /// [`Config::load`] with explicit arguments and default file location.
    pub fn load_from(
        args: impl IntoIterator<Item = impl Into<OsString>>,
        default_file: &Path,
    ) -> Result<Config, ConfigError> {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let cmd = Config::command().args_override_self(true);
        let matches = cmd.clone().try_get_matches_from(&args)?;
        let file = match matches.get_one::<PathBuf>("config") {
            Some(path) => Some(path.clone()),
            None => default_file.exists().then(|| default_file.to_owned()),
        };
        let Some(path) = file else {
            return Ok(Config::from_arg_matches(&matches)?);
        };
        let file_err = |reason: String| ConfigError::File {
            path: path.clone(),
            reason,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| file_err(e.to_string()))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_err(e.to_string()))?;
        let extra = file_args(&cmd, &matches, &table).map_err(file_err)?;
        // The file's values go first, so nothing given as a flag or env
        // var is overridden (those keys are skipped anyway).
        let mut argv = args;
        let tail = argv.split_off(1.min(argv.len()));
        argv.extend(extra);
        argv.extend(tail);
        let matches = cmd.try_get_matches_from(&argv)?;
        Ok(Config::from_arg_matches(&matches)?)
    }
}

/// The flags a config file adds: one per key that neither a flag nor an env
/// var has set. Unknown keys are errors, so typos do not pass silently.
fn file_args(
    cmd: &clap::Command,
    matches: &clap::ArgMatches,
    table: &toml::Table,
) -> Result<Vec<OsString>, String> {
    let mut out = Vec::new();
    for (key, value) in table {
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()) && key != "config")
            .ok_or_else(|| {
                format!("unknown key `{key}` (keys are the flag names, e.g. `listen`)")
            })?;
        if matches!(
            matches.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let scalar = |v: &toml::Value| -> Result<String, String> {
            match v {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(i) => Ok(i.to_string()),
                toml::Value::Float(f) => Ok(f.to_string()),
                toml::Value::Boolean(b) => Ok(b.to_string()),
                other => Err(format!("`{key}`: unsupported value {other}")),
            }
        };
        if !arg.get_action().takes_values() {
            match value {
                toml::Value::Boolean(true) => out.push(format!("--{key}").into()),
                toml::Value::Boolean(false) => {}
                _ => return Err(format!("`{key}` is a switch: use true or false")),
            }
            continue;
        }
        let values = match value {
            toml::Value::Array(items) => items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
            v => vec![scalar(v)?],
        };
        for v in values {
            out.push(format!("--{key}={v}").into());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str], file: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(&path, file).unwrap();
        let mut argv = vec![
            "weft-server".to_owned(),
            format!("--config={}", path.display()),
        ];
        argv.extend(args.iter().map(|s| s.to_string()));
        Config::load_from(argv, Path::new("/nonexistent"))
    }

    #[test]
    fn the_file_fills_what_flags_leave_unset() {
        let c = load(
            &["--max-connections", "7"],
            r#"
            listen = "127.0.0.1:9999"
            max-connections = 100
            in-memory = true
            unload-after = "2m"
            allowed-origin = ["https://a.example", "https://b.example"]
            "#,
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9999");
        assert_eq!(c.max_connections, 7, "a flag beats the file");
        assert!(c.in_memory);
        assert_eq!(c.unload_after, Duration::from_secs(120));
        assert_eq!(
            c.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(c.compact_after, 1000, "defaults remain");
    }

    #[test]
    fn every_flag_has_a_key() {
        let cmd = Config::command();
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "config" | "help" | "version") {
                continue;
            }
            let value = if arg.get_action().takes_values() {
                // Any value clap accepts for the flag's type will do here.
                match long {
                    "listen" => "\"127.0.0.1:1\"".to_owned(),
                    l if l.ends_with("-file") || l.starts_with("tls-") || l == "data-dir" => {
                        "\"/tmp/x\"".to_owned()
                    }
                    "unload-after" | "ping-interval" | "shutdown-timeout" => "\"1s\"".to_owned(),
                    "allowed-origin" => "[\"https://x\"]".to_owned(),
                    "trusted-proxy" => "[\"10.0.0.0/8\"]".to_owned(),
                    _ => "1".to_owned(),
                }
            } else {
                "true".to_owned()
            };
            let table: toml::Table = format!("{long} = {value}").parse().unwrap();
            let matches = cmd.clone().try_get_matches_from(["weft-server"]).unwrap();
            let args = file_args(&cmd, &matches, &table).unwrap();
            assert!(!args.is_empty(), "{long}");
        }
    }

    fn parse(args: &[&str]) -> Config {
        let mut argv = vec!["weft-server"];
        argv.extend(args);
        Config::load_from(argv, Path::new("/nonexistent")).unwrap()
    }

    #[test]
    fn options_work_before_or_after_a_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("server.toml");
        std::fs::write(&file, "compact-after = 7\n").unwrap();
        let file = file.to_str().unwrap();
        let token = ["token", "--doc", "x", "--access", "write", "--ttl", "1h"];
        for (options, sub) in [
            (&["--auth-secret-file", "/s"][..], &token[..]),
            (
                &["--data-dir", "/d", "--config", file],
                &["backup", "/b.db"],
            ),
            (&["--data-dir", "/d"], &["restore", "/b.db"]),
            (
                &["--data-dir", "/d", "--store", "postgres://h/db"],
                &["export", "/out"],
            ),
        ] {
            let before = parse(&[options, sub].concat());
            let after = parse(&[sub, options].concat());
            assert_eq!(
                format!("{before:?}"),
                format!("{after:?}"),
                "{sub:?} {options:?}"
            );
            assert!(before.command.is_some());
        }
        let c = parse(&["backup", "/b.db", "--data-dir", "/d", "--config", file]);
        assert_eq!(c.data_dir, Path::new("/d"));
        assert_eq!(
            c.compact_after, 7,
            "the file named after the subcommand is read"
        );
        assert_eq!(
            parse(&[
                "token",
                "--auth-secret-file",
                "/s",
                "--doc",
                "x",
                "--access",
                "read"
            ])
            .auth_secret_file
            .as_deref(),
            Some(Path::new("/s"))
        );
    }

    #[test]
    fn sizes_take_units_in_flags_env_and_the_file() {
        assert_eq!(Config::default().max_message_size, 16 << 20);
        assert_eq!(Config::default().rate_bytes, 4 << 20);
        for (given, bytes) in [
            ("16MiB", 16 << 20),
            ("4MB", 4_000_000),
            ("512KiB", 512 << 10),
            ("1 GiB", 1 << 30),
            ("1024", 1024),
        ] {
            assert_eq!(
                parse(&["--max-message-size", given]).max_message_size,
                bytes,
                "{given}"
            );
            assert_eq!(
                parse(&["--rate-bytes", given]).rate_bytes,
                bytes as u64,
                "{given}"
            );
        }
        let c = load(&[], "max-message-size = \"2MiB\"\nrate-bytes = 1000\n").unwrap();
        assert_eq!((c.max_message_size, c.rate_bytes), (2 << 20, 1000));
        let e = Config::load_from(
            ["weft-server", "--max-message-size", "lots"],
            Path::new("/x"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("expected a size such as 16MiB"), "{e}");
        let help = Config::command().render_help().to_string();
        assert!(
            help.contains("[default: 16MiB]") && help.contains("[default: 4MiB]"),
            "{help}"
        );
    }

    #[test]
    fn mistakes_in_the_file_are_reported() {
        for (file, needle) in [
            ("lisen = \"x\"", "unknown key `lisen`"),
            ("in-memory = \"yes\"", "is a switch"),
            ("listen = ", "config file"),
            ("max-connections = { a = 1 }", "unsupported value"),
        ] {
            let e = load(&[], file).unwrap_err().to_string();
            assert!(e.contains(needle), "{file}: {e}");
        }
        let e = Config::load_from(
            ["weft-server", "--config", "/nonexistent.toml"],
            Path::new("/x"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("/nonexistent.toml"), "{e}");
    }
}
