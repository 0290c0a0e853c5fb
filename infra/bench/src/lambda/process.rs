//! One execution environment: the function's binary started as Lambda starts a
//! `provided.al2023` bootstrap, its peak memory from `/proc`, its size on disk.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

pub struct Running {
    child: Child,
    pub started: Instant,
    log: PathBuf,
}

/// The variables Lambda sets for a custom runtime (credentials included: Lambda hands the
/// role's credentials over in the environment), plus the deployment's own `extra`.
fn lambda_env(function: &str, runtime_api: &str) -> Vec<(String, String)> {
    let v = |k: &str, v: &str| (k.to_string(), v.to_string());
    vec![
        v("AWS_LAMBDA_RUNTIME_API", runtime_api),
        v("AWS_LAMBDA_FUNCTION_NAME", function),
        v("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        v("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        v("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{function}")),
        v("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]0123456789abcdef"),
        v("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        v("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        v("AWS_REGION", "us-east-1"),
        v("AWS_DEFAULT_REGION", "us-east-1"),
        v("AWS_ACCESS_KEY_ID", "test"),
        v("AWS_SECRET_ACCESS_KEY", "test"),
        v("AWS_SESSION_TOKEN", "test"),
        v("_HANDLER", "bootstrap"),
        v("LAMBDA_TASK_ROOT", "/var/task"),
        v("LAMBDA_RUNTIME_DIR", "/var/runtime"),
        v("TZ", ":UTC"),
        v("LANG", "en_US.UTF-8"),
        v("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
    ]
}

impl Running {
    /// Starts `binary` with a clean environment (nothing of the bench's own leaks in:
    /// no HOME, so no `~/.aws` files, as in Lambda), its output appended to `log`.
    pub fn spawn(binary: &Path, function: &str, runtime_api: &str, extra: &[(String, String)], log: &Path) -> std::io::Result<Self> {
        let out = File::options().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        let mut command = Command::new(binary);
        command.env_clear().envs(lambda_env(function, runtime_api)).envs(extra.iter().cloned()).stdin(Stdio::null()).stdout(out).stderr(err);
        let started = Instant::now();
        let child = command.spawn()?;
        Ok(Self { child, started, log: log.to_path_buf() })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once the process has ended.
    pub fn exited(&mut self) -> Option<String> {
        self.child.try_wait().ok().flatten().map(|status| status.to_string())
    }

    /// The peak resident set so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        peak_rss(self.pid())
    }

    /// The last lines the process wrote, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed run must not leave functions polling a dead emulator.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The binary's size once stripped of symbols and debug info: the release profile strips
/// already (then this is its size); a debug binary is stripped into a temporary copy.
pub fn stripped_size(binary: &Path, scratch: &Path) -> std::io::Result<u64> {
    let copy = scratch.join(format!("{}.stripped", binary.file_name().and_then(|n| n.to_str()).unwrap_or("bin")));
    let stripped = Command::new("strip").arg("-o").arg(&copy).arg(binary).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false);
    let size = if stripped { std::fs::metadata(&copy)?.len() } else { std::fs::metadata(binary)?.len() };
    let _ = std::fs::remove_file(&copy);
    Ok(size)
}
