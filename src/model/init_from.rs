//! `--init-from`: starting a run from trained weights instead of random ones: a selftrain run
//! directory or `.bpk`, a PyTorch `state_dict` (`.pt` / `.pth`) or a `.safetensors` file, all
//! read through `burn::store`. The last layer is left freshly initialised when the file's has
//! another number of classes; any other tensor that does not fit is an error naming it.
//!
//! A PyTorch file may also hold a whole pickled module (`torch.save(model)`): burn's reader takes
//! its parameters by the module's structure, the same keys as its `state_dict`, without running
//! any of the file's Python code.

use std::path::{Path, PathBuf};

use burn::store::{
    ApplyError, ApplyResult, BurnpackStore, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter,
    PytorchStore, SafetensorsStore, burn_pack::Tensor as PackTensor,
};

use super::{Classifier, ModelConfig, Network, TORCHVISION_KEY_REMAP};

/// The formats `--init-from` reads, told apart by the file's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    /// A selftrain model file (burnpack), or a run directory's `best.bpk`.
    Selftrain,
    /// A PyTorch `state_dict` saved with `torch.save`.
    Pytorch,
    /// A SafeTensors file holding a PyTorch `state_dict`.
    Safetensors,
}

/// What [`init_from`] loaded, for the run's event log.
#[derive(Debug, Clone, PartialEq)]
pub struct InitReport {
    /// The weights file actually read.
    pub file: PathBuf,
    /// Its format.
    pub format: WeightsFormat,
    /// Tensors copied into the model.
    pub loaded: usize,
    /// `Some((file's classes, model's classes))` when the last layer was left new.
    pub head_replaced: Option<(usize, usize)>,
    /// Whether it was left new because a selftrain run's classes have other names (their
    /// count may be the same: classes 0–4 do not become classes 5–9).
    pub other_classes: bool,
}

impl std::fmt::Display for InitReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "initialised from {} ({} tensors",
            self.file.display(),
            self.loaded
        )?;
        match self.head_replaced {
            Some(_) if self.other_classes => write!(
                f,
                "; its last layer was trained on other classes: that layer starts new"
            )?,
            Some((from, to)) => write!(
                f,
                "; its last layer has {from} classes, this run {to}: that layer starts new"
            )?,
            None => {}
        }
        write!(f, ")")
    }
}

/// Resolves `path` to a weights file and its format: a run directory gives its `best.bpk`
/// (or `last.bpk`); otherwise the extension decides.
pub fn resolve(path: &Path) -> anyhow::Result<(PathBuf, WeightsFormat)> {
    if path.is_dir() {
        for name in [crate::run::files::BEST, crate::run::files::LAST] {
            let file = path.join(name);
            if file.is_file() {
                return Ok((file, WeightsFormat::Selftrain));
            }
        }
        anyhow::bail!(
            "--init-from {}: a directory, but no run directory (neither {} nor {} in it)",
            path.display(),
            crate::run::files::BEST,
            crate::run::files::LAST
        );
    }
    if !path.exists() {
        anyhow::bail!("--init-from {}: no such file or directory", path.display());
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let format = match ext.as_str() {
        "bpk" => WeightsFormat::Selftrain,
        "pt" | "pth" | "bin" => WeightsFormat::Pytorch,
        "safetensors" => WeightsFormat::Safetensors,
        _ => anyhow::bail!(
            "--init-from {}: unknown kind of weights file (expected a run directory, .bpk, \
             .pt / .pth or .safetensors)",
            path.display()
        ),
    };
    Ok((path.to_path_buf(), format))
}

/// Prefixes that wrap a `state_dict`'s keys in common checkpoints (`model.state_dict()` saved
/// under a key, or through `DataParallel`): stripped before matching.
const WRAPPER_PREFIXES: [(&str, &str); 3] = [
    (r"^state_dict\.", ""),
    (r"^model\.", ""),
    (r"^module\.", ""),
];

fn read_tensors(file: &Path, format: WeightsFormat) -> anyhow::Result<Vec<PackTensor>> {
    let fail = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "--init-from {}: not a readable {}: {e}",
            file.display(),
            format.describe()
        )
    };
    let remaps = TORCHVISION_KEY_REMAP.iter().chain(&WRAPPER_PREFIXES);
    fn all<S: ModuleStore>(store: &mut S) -> Result<Vec<PackTensor>, S::Error> {
        Ok(store.get_all_tensors()?.values().cloned().collect())
    }
    let tensors: Vec<PackTensor> = match format {
        WeightsFormat::Selftrain => {
            all(&mut BurnpackStore::from_file(file)).map_err(|e| fail(&e))?
        }
        WeightsFormat::Pytorch => {
            let store = remaps.fold(PytorchStore::from_file(file), |s, (from, to)| {
                s.with_key_remapping(*from, *to)
            });
            all(&mut { store }).map_err(|e| fail(&e))?
        }
        WeightsFormat::Safetensors => {
            let store = remaps.fold(SafetensorsStore::from_file(file), |s, (from, to)| {
                s.with_key_remapping(*from, *to)
            });
            all(&mut { store }).map_err(|e| fail(&e))?
        }
    };
    if tensors.is_empty() {
        anyhow::bail!("--init-from {}: holds no tensors", file.display());
    }
    Ok(tensors)
}

impl WeightsFormat {
    fn describe(self) -> &'static str {
        match self {
            WeightsFormat::Selftrain => "selftrain model file (.bpk)",
            WeightsFormat::Pytorch => "PyTorch state_dict (.pt / .pth)",
            WeightsFormat::Safetensors => "SafeTensors file",
        }
    }
}

/// Copies the weights of `path` into `model` (built from `config` for the classes `classes`).
/// Keys that the file has and the model has not (BatchNorm's `num_batches_tracked`, say) are
/// ignored; a model parameter the file lacks, or one of another shape, is an error, except for
/// the last layer, which starts new when its class count differs, or when the file comes from a
/// selftrain run (its `model.json` beside it) whose classes have other names.
pub fn init_from(
    model: Classifier,
    config: &ModelConfig,
    classes: &[String],
    path: &Path,
) -> anyhow::Result<(Classifier, InitReport)> {
    let (file, format) = resolve(path)?;
    let source = file
        .parent()
        .map(|dir| dir.join(crate::run::files::MODEL))
        .filter(|info| format == WeightsFormat::Selftrain && info.is_file())
        .and_then(|info| crate::run::read_model_info(&info).ok());
    if let Some(info) = &source
        && info.model.kind != config.kind
    {
        anyhow::bail!(
            "--init-from {}: that run trained the model `{}`, this run builds `{}`: pass \
             --model {}",
            path.display(),
            info.model.kind.name(),
            config.kind.name(),
            info.model.kind.name()
        );
    }
    let mut tensors = read_tensors(&file, format)?;
    let other_classes = source
        .as_ref()
        .is_some_and(|info| !info.classes.is_empty() && info.classes != classes);
    if other_classes {
        tensors.retain(|t| !t.name.starts_with(config.head_prefix()));
    }
    let adapter = || -> Option<Box<dyn burn::store::ModuleAdapter>> {
        match format {
            WeightsFormat::Selftrain => None,
            _ => Some(Box::new(PyTorchToBurnAdapter)),
        }
    };
    let Classifier { network, input } = model;
    let (network, result) = match network {
        Network::Cnn(mut m) => {
            let r = m.apply(tensors, None, adapter(), false);
            (Network::Cnn(m), r)
        }
        Network::ResNet(mut m) => {
            let r = m.apply(tensors, None, adapter(), false);
            (Network::ResNet(m), r)
        }
    };
    let model = Classifier { network, input };
    let dropped = other_classes.then(|| {
        let from = source.as_ref().map_or(0, |info| info.classes.len());
        (from, config.num_classes)
    });
    let head_replaced = check(&result, config, &file, dropped)?;
    Ok((
        model,
        InitReport {
            file,
            format,
            loaded: result.applied.len(),
            head_replaced,
            other_classes,
        },
    ))
}

/// Turns an [`ApplyResult`] into the head replacement it implies, or the first problem.
fn check(
    result: &ApplyResult,
    config: &ModelConfig,
    file: &Path,
    dropped: Option<(usize, usize)>,
) -> anyhow::Result<Option<(usize, usize)>> {
    let head = config.head_prefix();
    let is_head = |path: &str| path.starts_with(head);
    let mut head_replaced = dropped;
    for error in &result.errors {
        match error {
            ApplyError::ShapeMismatch {
                path,
                expected,
                found,
            } if is_head(path) => {
                // A Linear weight is [in, out] in burn: the class count is the last dimension.
                let classes = |s: &burn::tensor::Shape| s.as_slice().last().copied().unwrap_or(0);
                head_replaced = Some((classes(found), classes(expected)));
            }
            ApplyError::ShapeMismatch {
                path,
                expected,
                found,
            } => anyhow::bail!(
                "--init-from {}: tensor `{path}` has shape {:?} in the file, the model `{}` \
                 needs {:?}",
                file.display(),
                found.as_slice(),
                config.kind.name(),
                expected.as_slice()
            ),
            other => anyhow::bail!("--init-from {}: {other}", file.display()),
        }
    }
    if result.applied.is_empty() {
        let first = result.unused.first().map(String::as_str).unwrap_or("?");
        anyhow::bail!(
            "--init-from {}: none of its tensors fits the model `{}` (the file's first is \
             `{first}`, the model's first is `{}`)",
            file.display(),
            config.kind.name(),
            result
                .missing
                .first()
                .map(|(p, _)| p.as_str())
                .unwrap_or("?")
        );
    }
    let missing: Vec<&str> = result
        .missing
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| !(head_replaced.is_some() && is_head(p)))
        .collect();
    if let Some(first) = missing.first() {
        anyhow::bail!(
            "--init-from {}: has no tensor for `{first}` ({} of the model `{}`'s tensors are \
             missing): not a state_dict of this architecture",
            file.display(),
            missing.len(),
            config.kind.name()
        );
    }
    Ok(head_replaced)
}
