//! Device selection: `auto`, `flex`, `ndarray`, `tch-cpu`, `cuda[:N]`.

use burn::tensor::Device;

/// A device as named by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    /// The best available: cuda with tch and a GPU, else tch-cpu with tch, else flex.
    Auto,
    /// burn's pure-Rust CPU backend.
    Flex,
    /// burn's older ndarray CPU backend (the `ndarray` feature; `openblas` adds the system
    /// OpenBLAS for its matrix products), kept to be measured against flex.
    NdArray,
    /// libtorch on the CPU (needs the `tch` feature).
    TchCpu,
    /// libtorch on CUDA GPU `N` (needs the `tch` feature).
    Cuda(usize),
}

/// A device that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeviceError {
    /// The name is not a device.
    #[error("unknown device `{0}`: expected auto, flex, ndarray, tch-cpu, cuda or cuda:N")]
    Unknown(String),
    /// The device exists but this build or machine lacks it.
    #[error("device `{requested}` is not available in this build/machine; available: {available}")]
    Unavailable {
        /// What was asked.
        requested: String,
        /// Comma-separated list of usable devices.
        available: String,
    },
}

impl DeviceSpec {
    /// Parses a device name.
    pub fn parse(text: &str) -> Result<Self, DeviceError> {
        match text.trim() {
            "auto" => Ok(Self::Auto),
            "flex" => Ok(Self::Flex),
            "ndarray" => Ok(Self::NdArray),
            "tch-cpu" => Ok(Self::TchCpu),
            "cuda" => Ok(Self::Cuda(0)),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => Ok(Self::Cuda(n)),
                _ => Err(DeviceError::Unknown(other.to_string())),
            },
        }
    }

    /// The canonical name.
    pub fn name(&self) -> String {
        match self {
            Self::Auto => "auto".into(),
            Self::Flex => "flex".into(),
            Self::NdArray => "ndarray".into(),
            Self::TchCpu => "tch-cpu".into(),
            Self::Cuda(n) => format!("cuda:{n}"),
        }
    }
}

/// Devices this build can use on this machine, best first.
#[allow(clippy::vec_init_then_push)]
pub fn available() -> Vec<DeviceSpec> {
    let mut out = Vec::new();
    #[cfg(feature = "tch")]
    {
        let gpus = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
        out.extend((0..gpus).map(DeviceSpec::Cuda));
        out.push(DeviceSpec::TchCpu);
    }
    #[cfg(feature = "flex")]
    out.push(DeviceSpec::Flex);
    #[cfg(feature = "ndarray")]
    out.push(DeviceSpec::NdArray);
    out
}

/// Resolves a spec to a concrete device (not `Auto`), or says what is available.
pub fn resolve(spec: DeviceSpec) -> Result<DeviceSpec, DeviceError> {
    let avail = available();
    let chosen = match spec {
        DeviceSpec::Auto => avail.first().copied(),
        s => avail.iter().copied().find(|a| *a == s),
    };
    chosen.ok_or_else(|| DeviceError::Unavailable {
        requested: spec.name(),
        available: avail
            .iter()
            .map(DeviceSpec::name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The burn device (without autodiff) for a resolved spec.
#[allow(deprecated)]
pub fn burn_device(spec: DeviceSpec) -> Device {
    match spec {
        #[cfg(feature = "flex")]
        DeviceSpec::Flex => Device::flex(),
        #[cfg(feature = "ndarray")]
        DeviceSpec::NdArray => Device::ndarray(),
        #[cfg(feature = "tch")]
        DeviceSpec::TchCpu => Device::libtorch(),
        #[cfg(feature = "tch")]
        DeviceSpec::Cuda(n) => Device::libtorch_cuda(n),
        other => panic!(
            "device {} is not compiled in; resolve() first",
            other.name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!(DeviceSpec::parse("auto"), Ok(DeviceSpec::Auto));
        assert_eq!(DeviceSpec::parse("cuda"), Ok(DeviceSpec::Cuda(0)));
        assert_eq!(DeviceSpec::parse("ndarray"), Ok(DeviceSpec::NdArray));
        assert_eq!(DeviceSpec::parse("cuda:2"), Ok(DeviceSpec::Cuda(2)));
        assert!(DeviceSpec::parse("cuda:x").is_err());
        assert!(DeviceSpec::parse("tpu").is_err());
    }

    #[cfg(not(feature = "tch"))]
    #[test]
    fn unavailable_device_lists_what_is_available() {
        let err = resolve(DeviceSpec::TchCpu).unwrap_err().to_string();
        assert!(err.contains("tch-cpu") && err.contains("flex"), "{err}");
        assert_eq!(resolve(DeviceSpec::Auto), Ok(DeviceSpec::Flex));
    }
}
