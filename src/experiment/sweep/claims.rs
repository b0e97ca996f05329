//! Claims: which process is training which cell, so that workers on any number of machines
//! sharing one directory never train a cell twice while its claimant lives.
//!
//! A claim is a file `claims/<id>.claim.<generation>` created with create-exclusive (`O_EXCL`,
//! atomic on local filesystems and on NFS v3 and later), holding the claimant's host, pid and
//! a heartbeat time that a background thread rewrites every quarter of the timeout. The
//! current claim is the highest generation. It is dead when its heartbeat is older than the
//! timeout, or, on the same host, when its process no longer exists; a dead claim is taken
//! over by creating the next generation exclusively, so of several workers that see the same
//! dead claim exactly one wins. Heartbeats compare wall clocks: machines sharing a directory
//! need clocks that agree to well within the timeout (NTP does).

use super::cells::{host_name, now};
use crate::error::{Error, Result};
use crate::files::write_atomic;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// What a claim file holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimInfo {
    pub host: String,
    pub pid: u32,
    /// When the claim was made and when its holder last said it was alive (seconds since 1970).
    pub started: f64,
    pub heartbeat: f64,
    pub generation: u32,
}

impl ClaimInfo {
    /// Whether the claimant is to be presumed alive.
    fn alive(&self, timeout: Duration) -> bool {
        if self.host == host_name() && !process_exists(self.pid) {
            return false;
        }
        now() - self.heartbeat <= timeout.as_secs_f64()
    }
}

/// Whether a process with this id runs on this machine (always "yes" where `/proc` is absent,
/// leaving the heartbeat to decide).
fn process_exists(pid: u32) -> bool {
    !Path::new("/proc/self").exists() || Path::new("/proc").join(pid.to_string()).exists()
}

/// A claim held by this process: its heartbeat runs until it is dropped, which deletes it.
pub struct Claim {
    path: PathBuf,
    dir: PathBuf,
    id: String,
    generation: u32,
    stop: Option<Sender<()>>,
    heartbeat: Option<JoinHandle<()>>,
}

/// The result of asking for a cell.
pub enum Claimed {
    Mine(Claim),
    /// Someone alive holds it.
    Held(ClaimInfo),
}

/// Claims cell `id` unless a live claimant holds it.
pub fn try_claim(dir: &Path, id: &str, timeout: Duration) -> Result<Claimed> {
    // A few rounds: losing a race to create a generation just means reading it next round.
    for _ in 0..8 {
        let generation = match current(dir, id)? {
            None => 0,
            Some((g, path)) => match read(&path) {
                Some(info) if info.alive(timeout) => return Ok(Claimed::Held(info)),
                Some(_) => g + 1,
                // Created but not yet written, or cut off: the file's age decides.
                None if modified_within(&path, timeout) => {
                    return Ok(Claimed::Held(ClaimInfo {
                        host: "?".into(),
                        pid: 0,
                        started: 0.0,
                        heartbeat: 0.0,
                        generation: g,
                    }))
                }
                None => g + 1,
            },
        };
        let path = dir.join(format!("{id}.claim.{generation}"));
        let info = ClaimInfo {
            host: host_name(),
            pid: std::process::id(),
            started: now(),
            heartbeat: now(),
            generation,
        };
        let text = serde_json::to_string(&info).expect("claims serialize");
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(text.as_bytes())
                    .and_then(|_| file.sync_all())
                    .map_err(|e| Error::io(&path, e))?;
                return Ok(Claimed::Mine(Claim::start(dir, id, path, info, timeout)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    Err(Error::invalid(format!(
        "{}: could not claim cell {id}: too many processes are racing for it",
        dir.display()
    )))
}

/// The highest generation of `id`'s claim files, if any.
fn current(dir: &Path, id: &str) -> Result<Option<(u32, PathBuf)>> {
    let prefix = format!("{id}.claim.");
    let mut best: Option<(u32, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(g) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|g| g.parse::<u32>().ok())
        else {
            continue;
        };
        if best.as_ref().is_none_or(|(b, _)| g > *b) {
            best = Some((g, entry.path()));
        }
    }
    Ok(best)
}

/// Who holds `id` now, if anyone alive does.
pub fn holder(dir: &Path, id: &str, timeout: Duration) -> Option<ClaimInfo> {
    let (_, path) = current(dir, id).ok()??;
    read(&path).filter(|info| info.alive(timeout))
}

fn read(path: &Path) -> Option<ClaimInfo> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn modified_within(path: &Path, timeout: Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age <= timeout)
}

impl Claim {
    fn start(dir: &Path, id: &str, path: PathBuf, info: ClaimInfo, timeout: Duration) -> Claim {
        let generation = info.generation;
        let (stop, stopped) = channel::<()>();
        let every = (timeout / 4).max(Duration::from_millis(10));
        let file = path.clone();
        let heartbeat = std::thread::spawn(move || {
            let mut info = info;
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                info.heartbeat = now();
                let text = serde_json::to_string(&info).expect("claims serialize");
                // A failed beat is retried next time; missing several lets another take over.
                let _ = write_atomic(&file, text.as_bytes());
            }
        });
        Claim {
            path,
            dir: dir.to_path_buf(),
            id: id.to_string(),
            generation,
            stop: Some(stop),
            heartbeat: Some(heartbeat),
        }
    }
}

impl Drop for Claim {
    /// Stops the heartbeat and deletes this claim and the dead ones it replaced.
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.heartbeat.take() {
            let _ = h.join();
        }
        for g in 0..=self.generation {
            let _ = std::fs::remove_file(self.dir.join(format!("{}.claim.{g}", self.id)));
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim_file(dir: &Path, name: &str, info: &ClaimInfo) {
        std::fs::write(dir.join(name), serde_json::to_string(info).unwrap()).unwrap();
    }

    fn other_host(heartbeat: f64) -> ClaimInfo {
        ClaimInfo {
            host: "another-machine".into(),
            pid: 1,
            started: heartbeat,
            heartbeat,
            generation: 0,
        }
    }

    #[test]
    fn one_claim_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let timeout = Duration::from_secs(3600);
        let Claimed::Mine(claim) = try_claim(dir.path(), "p000-r0", timeout).unwrap() else {
            panic!("a free cell is claimed");
        };
        match try_claim(dir.path(), "p000-r0", timeout).unwrap() {
            Claimed::Held(info) => {
                assert_eq!((info.pid, info.generation), (std::process::id(), 0));
            }
            Claimed::Mine(_) => panic!("claimed twice"),
        }
        assert!(holder(dir.path(), "p000-r0", timeout).is_some());
        // Another cell is free.
        assert!(matches!(
            try_claim(dir.path(), "p000-r1", timeout).unwrap(),
            Claimed::Mine(_)
        ));
        drop(claim);
        assert!(holder(dir.path(), "p000-r0", timeout).is_none());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn another_machines_claim_is_held_while_its_heartbeat_is_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let timeout = Duration::from_secs(60);
        claim_file(dir.path(), "p001-r0.claim.0", &other_host(now() - 5.0));
        match try_claim(dir.path(), "p001-r0", timeout).unwrap() {
            Claimed::Held(info) => assert_eq!(info.host, "another-machine"),
            Claimed::Mine(_) => panic!("took over a live claim"),
        }
        // Its heartbeat stopped two minutes ago: taken over as the next generation.
        claim_file(dir.path(), "p001-r0.claim.0", &other_host(now() - 120.0));
        let Claimed::Mine(claim) = try_claim(dir.path(), "p001-r0", timeout).unwrap() else {
            panic!("a dead claim is taken over");
        };
        assert_eq!(claim.generation, 1);
        assert!(dir.path().join("p001-r0.claim.1").is_file());
        // The dead claim cannot be taken over a second time: generation 1 is current.
        assert!(matches!(
            try_claim(dir.path(), "p001-r0", timeout).unwrap(),
            Claimed::Held(ClaimInfo { generation: 1, .. })
        ));
        drop(claim);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_claim_of_a_gone_process_on_this_machine_is_taken_over_at_once() {
        let dir = tempfile::tempdir().unwrap();
        // A process that has exited (and been reaped) no longer exists.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let info = ClaimInfo {
            host: host_name(),
            pid,
            started: now(),
            heartbeat: now(),
            generation: 0,
        };
        claim_file(dir.path(), "p002-r0.claim.0", &info);
        let outcome = try_claim(dir.path(), "p002-r0", Duration::from_secs(3600)).unwrap();
        assert!(matches!(
            outcome,
            Claimed::Mine(Claim { generation: 1, .. })
        ));
    }

    #[test]
    fn the_heartbeat_keeps_a_claim_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let timeout = Duration::from_millis(200);
        let Claimed::Mine(_claim) = try_claim(dir.path(), "p000-r0", timeout).unwrap() else {
            panic!("a free cell is claimed");
        };
        let path = dir.path().join("p000-r0.claim.0");
        let first: ClaimInfo = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        // Wait (bounded) for the next beat to be written.
        for _ in 0..1000 {
            let now: Option<ClaimInfo> = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            if now.is_some_and(|n| n.heartbeat > first.heartbeat) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no heartbeat in 10 s");
    }
}
