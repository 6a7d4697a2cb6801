//! The server's memory allocator: mimalloc, asked for plain blocks.
//!
//! A page render makes and drops thousands of small allocations across
//! threads (about 5,400 for a signed-in `/account`); glibc's allocator spent
//! a quarter of a signed-in request on them. The `mimalloc` crate's
//! allocator asks mimalloc for an aligned block every time, even for the
//! word alignment every mimalloc block already has, and that path cost 48
//! instructions an allocation against about 25 for a plain one: about 5% of
//! a page (README, "Where a signed-in page's instructions go"). So a block
//! whose alignment is at most a word's is asked for plainly, as mimalloc
//! itself does for such a `realloc`; a larger alignment (rare: `u128`,
//! cache-line padded queues) still goes the aligned way.
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// Every mimalloc block is aligned to at least a machine word.
const PLAIN_ALIGN: usize = std::mem::size_of::<usize>();

pub struct Mimalloc;

// SAFETY: every path hands the layout's size and, where it is larger than a
// word, its alignment to mimalloc, which returns null on failure as
// `GlobalAlloc` asks; memory from any of these calls is freed by `mi_free`.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                mi::mi_realloc(ptr.cast(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every alignment Rust may ask for up to a page, at sizes around
    /// mimalloc's size classes: each block is aligned, holds what was
    /// written, and keeps it through a `realloc` that grows and one that
    /// shrinks.
    #[test]
    fn blocks_are_aligned_and_keep_their_contents() {
        let sizes = [1, 7, 8, 9, 15, 16, 24, 40, 56, 100, 1000, 1024, 1025, 5000, 70_000];
        for align in (0..=12).map(|shift| 1usize << shift) {
            for size in sizes {
                let layout = Layout::from_size_align(size, align).unwrap();
                unsafe {
                    let zeroed = Mimalloc.alloc_zeroed(layout);
                    assert!(!zeroed.is_null());
                    assert_eq!(zeroed as usize % align, 0, "zeroed {size} aligned to {align}");
                    assert!(std::slice::from_raw_parts(zeroed, size).iter().all(|&b| b == 0));
                    Mimalloc.dealloc(zeroed, layout);

                    let block = Mimalloc.alloc(layout);
                    assert!(!block.is_null());
                    assert_eq!(block as usize % align, 0, "{size} bytes aligned to {align}");
                    for i in 0..size {
                        *block.add(i) = i as u8;
                    }
                    let grown = Mimalloc.realloc(block, layout, size * 3);
                    assert!(!grown.is_null());
                    assert_eq!(grown as usize % align, 0, "{size} grown, aligned to {align}");
                    assert!((0..size).all(|i| *grown.add(i) == i as u8));
                    let grown_layout = Layout::from_size_align(size * 3, align).unwrap();
                    let shrunk = Mimalloc.realloc(grown, grown_layout, size.div_ceil(2));
                    assert!(!shrunk.is_null());
                    assert_eq!(shrunk as usize % align, 0, "{size} shrunk, aligned to {align}");
                    assert!((0..size.div_ceil(2)).all(|i| *shrunk.add(i) == i as u8));
                    let shrunk_layout = Layout::from_size_align(size.div_ceil(2), align).unwrap();
                    Mimalloc.dealloc(shrunk, shrunk_layout);
                }
            }
        }
    }
}
