//! Kubernetes: an Indexed Job (`completionMode: Indexed`, one completion per cell) whose pods
//! run `nabla sweep FILE --cell`; each pod's cell number comes from `JOB_COMPLETION_INDEX`.
//! The sweep file and the sweep directory live on one volume that every pod mounts.
//!
//! The manifest is YAML written by hand with every string JSON-quoted (valid YAML), so no
//! value can change its structure.

use super::plan::Plan;
use super::slurm::job_name;
use crate::error::{Error, Result};

/// What the manifest needs besides the plan.
#[derive(Clone, Debug)]
pub struct K8sOptions {
    /// The container image with `nabla` on its PATH.
    pub image: String,
    /// The PersistentVolumeClaim that holds the sweep file and directory.
    pub claim: String,
    /// Where the volume is mounted in each pod.
    pub mount: String,
    /// Pods running at the same time (default: all cells).
    pub parallelism: Option<usize>,
    /// The argv each pod runs (`nabla sweep <file on the volume> --out <dir on the volume>`
    /// and overrides); `--cell` is added.
    pub command: Vec<String>,
    /// CPUs each pod asks for (and trains with).
    pub cpus: usize,
}

/// The manifest, ready for `kubectl apply -f -`.
pub fn indexed_job(plan: &Plan, options: &K8sOptions) -> Result<String> {
    if options.parallelism == Some(0) || options.cpus == 0 {
        return Err(Error::invalid(
            "--jobs and --cpus-per-task must be at least 1",
        ));
    }
    let n = plan.cells.len();
    let q = |s: &str| serde_json::to_string(s).expect("strings serialize");
    let name = job_name(&plan.base.name)
        .to_ascii_lowercase()
        .replace('_', "-")
        .trim_end_matches('-')
        .to_string();
    let mut command = options.command.clone();
    command.push("--cell".into());
    command.push("--threads".into());
    command.push(options.cpus.to_string());
    let command: Vec<String> = command.iter().map(|a| q(a)).collect();
    let parallelism = options.parallelism.unwrap_or(n).min(n);
    Ok(format!(
        "# Written by `nabla sweep --k8s-job`: {n} cells of {title}, one pod per cell.\n\
         # Put the sweep file on the volume first; apply with `kubectl apply -f job.yaml`,\n\
         # then merge with the same command and --merge (the last pod to finish merges too).\n\
         apiVersion: batch/v1\n\
         kind: Job\n\
         metadata:\n  name: {name}\n\
         spec:\n  completionMode: Indexed\n  completions: {n}\n  parallelism: {parallelism}\n  backoffLimit: {backoff}\n\
         \x20 template:\n    spec:\n      restartPolicy: Never\n      containers:\n\
         \x20       - name: cell\n          image: {image}\n          command: [{command}]\n\
         \x20         resources:\n            requests:\n              cpu: {cpus}\n\
         \x20         volumeMounts:\n            - name: sweep\n              mountPath: {mount}\n\
         \x20     volumes:\n        - name: sweep\n          persistentVolumeClaim:\n            claimName: {claim}\n",
        title = q(&plan.base.name),
        name = q(&name),
        backoff = n,
        image = q(&options.image),
        command = command.join(", "),
        cpus = q(&options.cpus.to_string()),
        mount = q(&options.mount),
        claim = q(&options.claim),
    ))
}
