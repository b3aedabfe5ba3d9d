//! README's local cluster (`scripts/cluster`): the binary it runs starts a throwaway PostgreSQL,
//! two server instances on one database and haproxy in front of them, all on loopback, and the
//! demo PPC signs in through the balancer (`--check`, which then stops everything).
use std::process::Command;

#[test]
fn the_local_cluster_starts_and_the_demo_ppc_signs_in_through_the_balancer() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        probe.local_addr().expect("its address").port()
    };
    let out = Command::new(env!("CARGO_BIN_EXE_partner-desk-cluster"))
        .args(["--check", "--port", &port.to_string()])
        .output()
        .expect("the cluster binary runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the cluster check failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(&format!(
            "cluster: ok: the demo PPC signed in through haproxy on 127.0.0.1:{port}"
        )),
        "{stdout}"
    );
}
