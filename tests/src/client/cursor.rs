//! A cursor image under the client's full control, as a hostile client
//! would set it: any buffer size, any hotspot (negative or outside the
//! buffer), an attach offset, a viewport destination and subsurfaces of
//! the cursor surface. Nothing here checks what the compositor allows.

use wayland_client::Proxy;

use super::{shm, TestClient};

/// A solid rectangle inside a cursor surface tree: position relative to
/// the cursor surface (subsurfaces only), size and straight-alpha colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubsurfaceSpec {
    pub pos: (i32, i32),
    pub size: (i32, i32),
    pub rgba: [u8; 4],
}

/// Everything [`TestClient::set_cursor_image`] sends.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorSpec {
    /// The buffer's size in pixels (the surface's, without a viewport).
    pub size: (i32, i32),
    pub rgba: [u8; 4],
    /// wl_pointer.set_cursor's hotspot, surface-local; may be negative or
    /// outside the buffer.
    pub hotspot: (i32, i32),
    /// Once the surface is the cursor, a second buffer is committed moved
    /// by this (dx, dy): wl_surface.offset from version 5 on, attach's dx/dy
    /// before. For a cursor that moves the image against the hotspot.
    pub attach_offset: Option<(i32, i32)>,
    /// A wp_viewport destination size for the cursor surface.
    pub viewport: Option<(i32, i32)>,
    /// Subsurfaces of the cursor surface, placed above it.
    pub subsurfaces: Vec<SubsurfaceSpec>,
}

impl CursorSpec {
    /// A plain `size` image in `rgba` with its hotspot at `hotspot`.
    pub fn solid(size: (i32, i32), rgba: [u8; 4], hotspot: (i32, i32)) -> Self {
        Self {
            size,
            rgba,
            hotspot,
            attach_offset: None,
            viewport: None,
            subsurfaces: Vec::new(),
        }
    }
}

impl TestClient {
    /// Sets the cursor to `spec` with the serial of the last
    /// wl_pointer.enter, even if the pointer has left since (Smithay accepts
    /// any serial from the client a pointer grab started on, a drag's
    /// included). False when nothing was sent: never had the pointer, or a
    /// global the spec needs (wl_subcompositor, wp_viewporter) is not
    /// offered. True says only that the requests went out.
    pub fn set_cursor_image(&mut self, spec: &CursorSpec) -> bool {
        let (Some(pointer), Some(serial)) = (
            self.state.pointer.clone(),
            self.state.pointer_history.last_enter_serial,
        ) else {
            return false;
        };
        let subcompositor = self.state.subcompositor.clone();
        let viewporter = self.state.viewporter.clone();
        let Some(shm) = self.state.shm.clone() else {
            return false;
        };
        if (!spec.subsurfaces.is_empty() && subcompositor.is_none())
            || (spec.viewport.is_some() && viewporter.is_none())
        {
            return false;
        }
        let Some(surface) = self.solid_surface(spec.size, spec.rgba) else {
            return false;
        };
        if let (Some(viewporter), Some((w, h))) = (viewporter, spec.viewport) {
            let viewport = viewporter.get_viewport(&surface, &self.qh, ());
            viewport.set_destination(w, h);
            self.state.viewports.push(viewport);
        }
        for sub in &spec.subsurfaces {
            let (Some(subcompositor), Some(child)) =
                (&subcompositor, self.solid_surface(sub.size, sub.rgba))
            else {
                return false;
            };
            let role = subcompositor.get_subsurface(&child, &surface, &self.qh, ());
            role.set_position(sub.pos.0, sub.pos.1);
            role.place_above(&surface);
            // Synchronized: applied by the cursor surface's commit below.
            child.commit();
            self.state.subsurfaces.push(role);
            self.state.extra_surfaces.push(child);
        }
        surface.commit();
        pointer.set_cursor(serial, Some(&surface), spec.hotspot.0, spec.hotspot.1);
        if let Some((dx, dy)) = spec.attach_offset {
            // After set_cursor, so the surface has the cursor role when the
            // offset is committed (a compositor applies it to the hotspot).
            let buffer = shm::solid_buffer(&shm, &self.qh, spec.size, spec.rgba);
            if surface.version() >= 5 {
                // Non-zero attach offsets are a protocol error from version 5.
                surface.offset(dx, dy);
                surface.attach(Some(&buffer), 0, 0);
            } else {
                surface.attach(Some(&buffer), dx, dy);
            }
            surface.damage_buffer(0, 0, spec.size.0, spec.size.1);
            surface.commit();
        }
        self.state.extra_surfaces.push(surface);
        true
    }
}
