//! A real authoritative DNS server on loopback (hickory-server, in process), whose records a test
//! changes while it runs: what domain proof looks its records up on.
//!
//! It serves the zones it is started with over UDP and TCP on one random port of 127.0.0.1. Each
//! change is seen by the very next query. [`DnsServer::fail`] makes it answer SERVFAIL, and
//! [`DnsServer::silent`] makes it answer nothing at all (so a lookup times out).
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::{CNAME, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{
    AxfrPolicy, Catalog, MessageResponseBuilder, ZoneHandler, ZoneType,
};
use hickory_server::Server;

/// Long on purpose: a resolver that cached would show stale records.
const TTL: u32 = 300;

/// The running server. Dropping it stops it.
pub struct DnsServer {
    addr: SocketAddr,
    zones: Vec<Arc<InMemoryZoneHandler>>,
    fail: Arc<AtomicBool>,
    silent: Arc<AtomicBool>,
    runtime: Option<tokio::runtime::Runtime>,
    _server: Option<Server<Handler>>,
}

struct Handler {
    catalog: Catalog,
    fail: Arc<AtomicBool>,
    silent: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let failed = |code| {
            let mut metadata = Metadata::response_from_request(&request.metadata);
            metadata.response_code = code;
            ResponseInfo::from(Header {
                metadata,
                counts: HeaderCounts::default(),
            })
        };
        if self.silent.load(Ordering::SeqCst) {
            // No answer at all: the asker times out.
            return failed(ResponseCode::ServFail);
        }
        if self.fail.load(Ordering::SeqCst) {
            let message = MessageResponseBuilder::from_message_request(request)
                .error_msg(&request.metadata, ResponseCode::ServFail);
            return match response.send_response(message).await {
                Ok(info) => info,
                Err(_) => failed(ResponseCode::ServFail),
            };
        }
        self.catalog.handle_request::<R, T>(request, response).await
    }
}

fn name(s: &str) -> Name {
    let mut n = Name::from_str(s).unwrap_or_else(|e| panic!("{s} is not a DNS name: {e}"));
    n.set_fqdn(true);
    n
}

impl DnsServer {
    /// Serves `zones` (e.g. `["contoso.com", "other.test"]`), empty but for their SOA.
    pub fn start(zones: &[&str]) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-dns")
            .enable_all()
            .build()
            .expect("a runtime for the test DNS server");
        let mut catalog = Catalog::new();
        let mut handlers = Vec::new();
        for zone in zones {
            let origin = name(zone);
            let mut h =
                InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
            // Negative answers are not to be cached either (minimum 0).
            let soa = SOA::new(
                name("ns.invalid"),
                name("hostmaster.invalid"),
                1,
                3600,
                600,
                86400,
                0,
            );
            assert!(h.upsert_mut(Record::from_rdata(origin.clone(), 0, RData::SOA(soa)), 1));
            let h = Arc::new(h);
            catalog.upsert(
                LowerName::from(origin),
                vec![h.clone() as Arc<dyn ZoneHandler>],
            );
            handlers.push(h);
        }
        let fail = Arc::new(AtomicBool::new(false));
        let silent = Arc::new(AtomicBool::new(false));
        let handler = Handler {
            catalog,
            fail: fail.clone(),
            silent: silent.clone(),
        };
        let (server, addr) = runtime.block_on(async move {
            // UDP on a free port, then TCP on the same port (again if that one is taken).
            let (udp, tcp, addr) = loop {
                let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
                    .await
                    .expect("a UDP port");
                let addr = udp.local_addr().expect("its address");
                if let Ok(tcp) = tokio::net::TcpListener::bind(addr).await {
                    break (udp, tcp, addr);
                }
            };
            let mut server = Server::new(handler);
            server.register_socket(udp);
            server.register_listener(tcp, Duration::from_secs(5), 64);
            (server, addr)
        });
        Self {
            addr,
            zones: handlers,
            fail,
            silent,
            runtime: Some(runtime),
            _server: Some(server),
        }
    }

    /// Where to point a resolver: `127.0.0.1:PORT`, UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn zone_of(&self, n: &Name) -> &Arc<InMemoryZoneHandler> {
        self.zones
            .iter()
            .filter(|z| z.origin().zone_of(&LowerName::from(n.clone())))
            .max_by_key(|z| z.origin().num_labels())
            .unwrap_or_else(|| panic!("{n} is in none of the test server's zones"))
    }

    fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.runtime.as_ref().expect("running").block_on(f)
    }

    /// Replaces everything at `at` with TXT records: one per entry, each made of the given
    /// character-strings (`&[&["a", "b"]]` is one record of two strings).
    pub fn set_txt(&self, at: &str, records: &[&[&str]]) {
        let n = name(at);
        let zone = self.zone_of(&n).clone();
        self.run(async move {
            let lower = LowerName::from(n.clone());
            zone.records_mut().await.retain(|k, _| k.name != lower);
            for strings in records {
                let txt = TXT::new(strings.iter().map(|s| (*s).to_owned()).collect());
                assert!(
                    zone.upsert(Record::from_rdata(n.clone(), TTL, RData::TXT(txt)), 1)
                        .await
                );
            }
        });
    }

    /// Makes `at` an alias of `target` (nothing else stays at `at`).
    pub fn set_cname(&self, at: &str, target: &str) {
        let n = name(at);
        let zone = self.zone_of(&n).clone();
        let target = name(target);
        self.run(async move {
            let lower = LowerName::from(n.clone());
            zone.records_mut().await.retain(|k, _| k.name != lower);
            assert!(
                zone.upsert(Record::from_rdata(n, TTL, RData::CNAME(CNAME(target))), 1)
                    .await
            );
        });
    }

    /// Removes every record at `at`.
    pub fn remove(&self, at: &str) {
        let n = name(at);
        let zone = self.zone_of(&n).clone();
        self.run(async move {
            let lower = LowerName::from(n);
            zone.records_mut().await.retain(|k, _| k.name != lower);
        });
    }

    /// While on, every query is answered SERVFAIL.
    pub fn fail(&self, on: bool) {
        self.fail.store(on, Ordering::SeqCst);
    }

    /// While on, no query is answered (lookups time out).
    pub fn silent(&self, on: bool) {
        self.silent.store(on, Ordering::SeqCst);
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            let server = self._server.take();
            runtime.block_on(async move { drop(server) });
            runtime.shutdown_background();
        }
    }
}
