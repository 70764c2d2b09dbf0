//! Large payloads handed over by JavaScript without a copy.

/// A read-only view of bytes owned by JavaScript (the backing store of a
/// Buffer passed to `submit()`).
///
/// JavaScript keeps the Buffer referenced, and the engine reads the bytes
/// only while the frame that carries them is queued: JavaScript lets go
/// once `EV_WRITTEN` reports that frame written, or once `EV_CLOSED` reports
/// the connection gone, and the engine neither reads a written chunk again
/// nor writes anything after `EV_CLOSED`. As with `socket.write()`, a
/// Buffer must not be detached while it is being sent.
pub struct Pinned {
    ptr: *const u8,
    len: usize,
}

// SAFETY: the bytes are only read, and JavaScript keeps them alive and
// unmoved for as long as the engine may read them (see above).
unsafe impl Send for Pinned {}

impl Pinned {
    /// Views `len` bytes at `ptr`.
    ///
    /// # Safety
    /// The bytes must stay valid and unchanged until the engine has written
    /// the frame that carries them or has closed the connection.
    pub unsafe fn new(ptr: *const u8, len: usize) -> Self {
        Self { ptr, len }
    }

    /// A view of owned bytes, for tests: leaks nothing, since the bytes
    /// are 'static.
    pub fn from_static(bytes: &'static [u8]) -> Self {
        Self {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: see `new`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}
