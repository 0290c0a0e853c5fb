//! Serves the sandbox on 127.0.0.1:0 from a thread and runtime of its own, as a remote
//! platform would be: its answers do not queue behind the engine's tasks. (The DingTalk
//! bench's `SandboxServer`, which differs only in the sandbox type: both could take a
//! `Router` and a base-URL setter.)

use warroom_sandbox::wecom::WeComSandbox;

pub(super) struct SandboxServer {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl SandboxServer {
    pub fn start(sandbox: &WeComSandbox) -> std::io::Result<Self> {
        let router = sandbox.router();
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base = format!("http://{}", listener.local_addr()?);
        sandbox.set_base_url(&base);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new().name("wecom-sandbox".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("sandbox runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("sandbox listener");
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        })?;
        Ok(Self { base, stop: Some(stop) })
    }
}

impl Drop for SandboxServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
