//! DRM/KMS backend (placeholder while it is being written).

use smithay::backend::allocator::dmabuf::Dmabuf;

use crate::state::Palisade;

pub struct Udev {}

impl Udev {
    pub fn new(
        _h: &smithay::reexports::calloop::LoopHandle<'static, crate::state::State>,
    ) -> anyhow::Result<Udev> {
        anyhow::bail!("the udev backend is not built yet")
    }
}

impl Udev {
    pub(super) fn init(&mut self, _pal: &mut Palisade) {}
    pub(super) fn render(&mut self, _pal: &mut Palisade, _output: &str) {}
    pub(super) fn import_dmabuf(&mut self, _dmabuf: &Dmabuf) -> bool {
        false
    }
}
