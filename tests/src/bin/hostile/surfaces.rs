//! Surface cases: negative and extreme sizes and positions, and more
//! surfaces and rectangles than any real client makes.

use std::os::fd::AsFd as _;
use std::time::{Duration, Instant};

use wayland_client::protocol::wl_shm;
use wayland_client::protocol::wl_subcompositor::WlSubcompositor;
use wayland_client::protocol::wl_surface::WlSurface;
use wayland_protocols::wp::viewporter::client::wp_viewporter::WpViewporter;

use crate::session::{memfd, Session, Step, Window};
use crate::Case;

pub const NEGATIVE_SIZES: &[Case] = &[
    ("create-pool-negative", create_pool_negative),
    ("create-pool-zero", create_pool_zero),
    ("pool-resize-negative", pool_resize_negative),
    ("pool-resize-zero", pool_resize_zero),
    ("buffer-negative-width", buffer_negative_width),
    ("buffer-negative-stride", buffer_negative_stride),
    ("buffer-negative-offset", buffer_negative_offset),
    ("window-geometry-negative", window_geometry_negative),
    ("window-geometry-extreme", window_geometry_extreme),
    ("min-size-negative", min_size_negative),
    ("max-size-extreme", max_size_extreme),
    ("positioner-size-negative", positioner_size_negative),
    ("positioner-anchor-negative", positioner_anchor_negative),
    ("popup-offset-extreme", popup_offset_extreme),
    ("damage-negative", damage_negative),
    ("buffer-scale-negative", buffer_scale_negative),
    ("buffer-scale-extreme", buffer_scale_extreme),
    (
        "viewport-destination-negative",
        viewport_destination_negative,
    ),
    ("viewport-source-negative", viewport_source_negative),
    ("viewport-destination-extreme", viewport_destination_extreme),
    ("viewport-source-extreme", viewport_source_extreme),
    ("region-negative", region_negative),
    ("surface-offset-extreme", surface_offset_extreme),
    ("subsurface-position-extreme", subsurface_position_extreme),
];

pub const MANY_SURFACES: &[Case] = &[
    ("ten-thousand-surfaces", ten_thousand_surfaces),
    ("deep-subsurface-chain", deep_subsurface_chain),
    ("hundreds-of-toplevels", hundreds_of_toplevels),
    ("region-of-100k-rectangles", huge_region),
];

/// Keep a mapped window around for a few frames after the change, so the
/// compositor lays out and draws with it before this connection ends.
fn linger(s: &mut Session, window: &Window) -> Step<String> {
    let before = s.app.callbacks_done;
    let mut frames = 0;
    let deadline = Instant::now() + Duration::from_secs(2);
    while frames < 3 && Instant::now() < deadline {
        window.surface.frame(&s.qh, ());
        window.surface.attach(Some(&window.buffer), 0, 0);
        window.surface.damage_buffer(0, 0, 1, 1);
        window.surface.commit();
        s.roundtrip()?;
        let wait = Instant::now() + Duration::from_millis(500);
        while s.app.callbacks_done == before + frames && Instant::now() < wait {
            s.pump()?;
            s.wait_io(Duration::from_millis(20));
        }
        frames = s.app.callbacks_done - before;
    }
    Ok(format!("accepted; {frames} frames shown afterwards"))
}

fn create_pool_negative() -> Step<String> {
    let mut s = Session::connect()?;
    let file = memfd(4096)?;
    let _pool = s.shm.create_pool(file.as_fd(), -4096, &s.qh, ());
    s.roundtrip()?;
    Ok("accepted".into())
}

fn create_pool_zero() -> Step<String> {
    let mut s = Session::connect()?;
    let file = memfd(4096)?;
    let _pool = s.shm.create_pool(file.as_fd(), 0, &s.qh, ());
    s.roundtrip()?;
    Ok("accepted".into())
}

fn resize(size: i32) -> Step<String> {
    let mut s = Session::connect()?;
    let file = memfd(4096)?;
    let pool = s.shm.create_pool(file.as_fd(), 4096, &s.qh, ());
    s.roundtrip()?;
    pool.resize(size);
    s.roundtrip()?;
    Ok("accepted".into())
}

fn pool_resize_negative() -> Step<String> {
    resize(-1)
}

fn pool_resize_zero() -> Step<String> {
    resize(0)
}

fn buffer(offset: i32, width: i32, height: i32, stride: i32) -> Step<String> {
    let mut s = Session::connect()?;
    let file = memfd(65536)?;
    let pool = s.shm.create_pool(file.as_fd(), 65536, &s.qh, ());
    let _buffer = pool.create_buffer(
        offset,
        width,
        height,
        stride,
        wl_shm::Format::Xrgb8888,
        &s.qh,
        (),
    );
    s.roundtrip()?;
    Ok("accepted".into())
}

fn buffer_negative_width() -> Step<String> {
    buffer(0, -1, 10, 256)
}

fn buffer_negative_stride() -> Step<String> {
    buffer(0, 10, 10, -256)
}

fn buffer_negative_offset() -> Step<String> {
    buffer(-4096, 10, 10, 40)
}

fn window_geometry(x: i32, y: i32, w: i32, h: i32) -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    window.xdg.set_window_geometry(x, y, w, h);
    window.surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window)
}

fn window_geometry_negative() -> Step<String> {
    window_geometry(0, 0, -5, -5)
}

fn window_geometry_extreme() -> Step<String> {
    window_geometry(i32::MAX - 1, i32::MIN + 1, i32::MAX, i32::MAX)
}

fn min_size_negative() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    window.toplevel.set_min_size(-1, -1);
    window.surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window)
}

fn max_size_extreme() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    window.toplevel.set_min_size(i32::MAX, i32::MAX);
    window.toplevel.set_max_size(i32::MAX, i32::MAX);
    window.surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window)
}

fn positioner(
    setup: impl FnOnce(&wayland_protocols::xdg::shell::client::xdg_positioner::XdgPositioner),
) -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    let positioner = s.wm_base.create_positioner(&s.qh, ());
    positioner.set_size(10, 10);
    positioner.set_anchor_rect(0, 0, 1, 1);
    setup(&positioner);
    let surface = s.compositor.create_surface(&s.qh, ());
    let xdg = s.wm_base.get_xdg_surface(&surface, &s.qh, ());
    let _popup = xdg.get_popup(Some(&window.xdg), &positioner, &s.qh, ());
    surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window)
}

fn positioner_size_negative() -> Step<String> {
    positioner(|p| p.set_size(-1, -1))
}

fn positioner_anchor_negative() -> Step<String> {
    positioner(|p| p.set_anchor_rect(0, 0, -1, -1))
}

fn popup_offset_extreme() -> Step<String> {
    positioner(|p| {
        p.set_size(i32::MAX, i32::MAX);
        p.set_anchor_rect(i32::MAX - 1, i32::MAX - 1, i32::MAX, i32::MAX);
        p.set_offset(i32::MAX, i32::MIN);
    })
}

fn damage_negative() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    window.surface.damage(0, 0, -10, -10);
    window.surface.damage_buffer(i32::MIN, i32::MIN, -10, -10);
    window
        .surface
        .damage(i32::MAX, i32::MAX, i32::MAX, i32::MAX);
    window.surface.attach(Some(&window.buffer), 0, 0);
    window.surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window)
}

fn buffer_scale_negative() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    window.surface.set_buffer_scale(-1);
    window.surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window)
}

fn viewport(
    setup: impl FnOnce(&wayland_protocols::wp::viewporter::client::wp_viewport::WpViewport),
) -> Step<String> {
    let mut s = Session::connect()?;
    let viewporter: WpViewporter = s.bind(1)?;
    let window = s.map_window()?;
    let viewport = viewporter.get_viewport(&window.surface, &s.qh, ());
    setup(&viewport);
    window.surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window)
}

fn buffer_scale_extreme() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    window.surface.set_buffer_scale(i32::MAX);
    window.surface.attach(Some(&window.buffer), 0, 0);
    window.surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window)
}

fn viewport_destination_negative() -> Step<String> {
    viewport(|v| v.set_destination(-5, -5))
}

fn viewport_source_negative() -> Step<String> {
    viewport(|v| v.set_source(-5.0, -5.0, -10.0, -10.0))
}

fn viewport_destination_extreme() -> Step<String> {
    viewport(|v| v.set_destination(i32::MAX, i32::MAX))
}

fn viewport_source_extreme() -> Step<String> {
    viewport(|v| v.set_source(8_000_000.0, 8_000_000.0, 8_000_000.0, 8_000_000.0))
}

fn region_negative() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    let region = s.compositor.create_region(&s.qh, ());
    region.add(0, 0, -1, -1);
    region.add(i32::MIN, i32::MIN, i32::MAX, i32::MAX);
    region.subtract(i32::MAX, i32::MAX, i32::MAX, i32::MAX);
    window.surface.set_input_region(Some(&region));
    window.surface.set_opaque_region(Some(&region));
    window.surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window)
}

fn surface_offset_extreme() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    for _ in 0..4 {
        window.surface.offset(i32::MAX, i32::MIN);
        window.surface.attach(Some(&window.buffer), 0, 0);
        window.surface.commit();
    }
    s.roundtrip()?;
    linger(&mut s, &window)
}

fn subsurface_position_extreme() -> Step<String> {
    let mut s = Session::connect()?;
    let subcompositor: WlSubcompositor = s.bind(1)?;
    let window = s.map_window()?;
    let child = s.compositor.create_surface(&s.qh, ());
    let sub = subcompositor.get_subsurface(&child, &window.surface, &s.qh, ());
    sub.set_position(i32::MIN, i32::MAX);
    let (buffer, _file) = s.buffer((16, 16))?;
    child.attach(Some(&buffer), 0, 0);
    child.commit();
    window.surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window)
}

fn ten_thousand_surfaces() -> Step<String> {
    let mut s = Session::connect()?;
    let mut surfaces: Vec<WlSurface> = Vec::new();
    for i in 0..10_000 {
        surfaces.push(s.compositor.create_surface(&s.qh, ()));
        if i % 500 == 499 {
            s.roundtrip()?;
        }
    }
    s.roundtrip()?;
    Ok(format!("{} surfaces were accepted", surfaces.len()))
}

/// Each surface a subsurface of the one before: tree walks recurse as deep.
fn deep_subsurface_chain() -> Step<String> {
    let mut s = Session::connect()?;
    let subcompositor: WlSubcompositor = s.bind(1)?;
    let window = s.map_window()?;
    let mut parent = window.surface.clone();
    let mut depth = 0;
    let mut keep = Vec::new();
    for i in 0..10_000 {
        let child = s.compositor.create_surface(&s.qh, ());
        keep.push(subcompositor.get_subsurface(&child, &parent, &s.qh, ()));
        child.commit();
        parent = child;
        depth += 1;
        if i % 500 == 499 {
            s.roundtrip()?;
        }
    }
    window.surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window).map(|l| format!("a chain {depth} deep was {l}"))
}

/// 300 mapped toplevels, all showing one buffer.
fn hundreds_of_toplevels() -> Step<String> {
    let mut s = Session::connect()?;
    let (buffer, _file) = s.buffer(crate::session::WINDOW)?;
    let mut windows = Vec::new();
    for _ in 0..300 {
        windows.push(s.map_window_with(buffer.clone())?);
    }
    let last = windows
        .pop()
        .ok_or_else(|| crate::session::failed("no window"))?;
    linger(&mut s, &last).map(|l| format!("300 toplevels were {l}"))
}

fn huge_region() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    let region = s.compositor.create_region(&s.qh, ());
    for i in 0..100_000 {
        region.add(i % 64, i / 64, 1, 1);
        if i % 5000 == 4999 {
            s.roundtrip()?;
        }
    }
    window.surface.set_input_region(Some(&region));
    window.surface.set_opaque_region(Some(&region));
    window.surface.commit();
    s.roundtrip()?;
    linger(&mut s, &window)
}
