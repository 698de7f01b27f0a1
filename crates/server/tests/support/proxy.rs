//! A TCP proxy a test can cut, as a network failure between a server and
//! its database would, or stall, as a database host that stops answering
//! (its connections stay open, nothing passes) would.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

pub struct Proxy {
    pub addr: SocketAddr,
    /// Whether connections pass; on `false` every open one ends.
    open: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
    /// Whether bytes stop passing (the connections stay open).
    stalled: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Forwards every connection to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let open = Arc::new(AtomicBool::new(true));
        let cuts = watch::Sender::new(0);
        let stalled = watch::Sender::new(false);
        let task = tokio::spawn({
            let open = Arc::clone(&open);
            let cuts = cuts.clone();
            let stalled = stalled.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    if !open.load(Ordering::SeqCst) {
                        continue; // Dropped: the connection is refused.
                    }
                    tokio::spawn(forward(
                        client,
                        target,
                        cuts.subscribe(),
                        stalled.subscribe(),
                    ));
                }
            }
        });
        Self {
            addr,
            open,
            cuts,
            stalled,
            task,
        }
    }

    /// Ends every connection and refuses new ones until [`Self::restore`].
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|cuts| *cuts += 1);
    }

    /// Lets connections pass again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// Stops every byte, holding every connection open (new ones too).
    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    mut client: TcpStream,
    target: SocketAddr,
    mut cuts: watch::Receiver<u64>,
    mut stalled: watch::Receiver<bool>,
) {
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => return,
        _ = cuts.changed() => return,
        _ = stalled.wait_for(|stalled| *stalled) => {}
    }
    // Stalled: both sockets stay open and nothing passes, until a cut.
    let _ = cuts.changed().await;
}
