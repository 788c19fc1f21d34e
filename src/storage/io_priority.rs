//! Background threads' manners: the idle I/O class (`ioprio_set`) for reads that must not slow
//! the cores' own, and a low CPU priority for a whole background thread.

/// `ioprio_set`'s constants (linux/ioprio.h; not in the libc crate).
const IOPRIO_WHO_PROCESS: libc::c_long = 1;
const IOPRIO_CLASS_IDLE: libc::c_long = 3;
const IOPRIO_CLASS_SHIFT: libc::c_long = 13;

/// The nice value of a thread that should only use CPU the cores leave (the lowest priority).
const BACKGROUND_NICE: libc::c_int = 19;

/// Runs `read` on the calling thread at the idle I/O class, then restores its class. A refusal
/// only leaves the class as it was.
pub fn at_idle_io_class<T>(read: impl FnOnce() -> T) -> T {
    // SAFETY: ioprio_get and ioprio_set on the calling thread (id 0) touch nothing else.
    let previous = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) };
    set_idle_io_class();
    let result = read();
    if previous >= 0 {
        // SAFETY: as above.
        unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, previous) };
    }
    result
}

/// Puts the calling thread, for the rest of its life, at the idle I/O class and nice 19 (Linux
/// applies both per thread). A refusal leaves it as it was.
pub fn make_thread_background() {
    set_idle_io_class();
    // SAFETY: gettid and setpriority on the calling thread touch nothing else.
    unsafe {
        let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, thread, BACKGROUND_NICE);
    }
}

fn set_idle_io_class() {
    // SAFETY: ioprio_set on the calling thread (id 0) touches nothing else.
    unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT,
        )
    };
}
