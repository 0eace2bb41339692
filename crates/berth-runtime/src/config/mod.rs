//! The input side: Docker's create options, as the API sends them, and the image's part.

mod container;
mod host;
mod merge;
mod mount;

pub use container::{ContainerConfig, HealthConfig, ImageRuntimeConfig, KeySet};
pub use host::{
    HostConfig, LogConfig, PortBinding, Resources, RestartPolicy, ThrottleDevice, Ulimit,
    WeightDevice,
};
pub use merge::merge_image_config;
pub(crate) use mount::valid_device_mode;
pub use mount::{BindOptions, DeviceMapping, Mount, TmpfsOptions, VolumeDriver, VolumeOptions};
