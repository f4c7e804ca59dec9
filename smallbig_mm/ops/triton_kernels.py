"""CUDA kernels of the big-view pooling, in Triton (registered by :mod:`.bigview_pool`).

One program handles ``BLOCK`` elements of the flattened (N * C, T, H, W) map:

* :func:`pool`: each output scans its window in (t, h, w) order and keeps an element when
  ``value > best or isnan(value)``: the value ``max_pool3d`` picks.
* :func:`pool_backward`: the same scan gives each output's winner (its flat index in the
  plane); then each input element gathers, over the outputs whose window holds it, in
  raster order, the gradients of those whose winner it is (rounded to the gradient's
  dtype after each add, as ``max_pool3d``'s atomic adds are).

A global temporal maximum is ``amax`` over the frames first, and its backward splits the
gradient between tied frames, as ``amax``'s backward does (torch ops, as in the pure route).
Runs on CPU tensors too under ``TRITON_INTERPRET=1`` (how the tests check it without a GPU).
"""

from typing import List

import torch
from torch import Tensor

try:
    import triton
    import triton.language as tl
except ImportError:  # the module is imported only where Triton is; doctest collection
    triton = None

BLOCK = 256

if triton is not None:

    @triton.jit
    def _scan_kernel(
        x_ptr,
        out_ptr,
        total,
        T,
        H,
        W,
        RT: tl.constexpr,
        RH: tl.constexpr,
        RW: tl.constexpr,
        WINNER: tl.constexpr,
        BLOCK: tl.constexpr,
    ):
        """Each output's pick: its value (WINNER False) or its flat index in the plane."""
        offsets = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        inside = offsets < total
        w = offsets % W
        h = (offsets // W) % H
        t = (offsets // (W * H)) % T
        base = offsets - (t * H + h) * W - w
        # compared in float32 (float64 for float64): exact for the narrower types
        compare = tl.float64 if x_ptr.dtype.element_ty == tl.float64 else tl.float32
        best = tl.full([BLOCK], float('-inf'), compare)
        # max_pool3d starts from the first element inside the window
        winner = (
            (tl.maximum(t - RT, 0) * H + tl.maximum(h - RH, 0)) * W + tl.maximum(w - RW, 0)
        ).to(tl.int32)
        for dt in tl.static_range(2 * RT + 1):
            tt = t + dt - RT
            for dh in tl.static_range(2 * RH + 1):
                hh = h + dh - RH
                for dw in tl.static_range(2 * RW + 1):
                    ww = w + dw - RW
                    valid = (
                        inside & (tt >= 0) & (tt < T) & (hh >= 0) & (hh < H) & (ww >= 0) & (ww < W)
                    )
                    flat = (tt * H + hh) * W + ww
                    value = tl.load(x_ptr + base + flat, mask=valid, other=float('-inf')).to(
                        compare
                    )
                    take = valid & ((value > best) | (value != value))
                    best = tl.where(take, value, best)
                    winner = tl.where(take, flat.to(tl.int32), winner)
        if WINNER:
            tl.store(out_ptr + offsets, winner, mask=inside)
        else:
            tl.store(out_ptr + offsets, best.to(out_ptr.dtype.element_ty), mask=inside)

    @triton.jit
    def _gather_kernel(
        grad_ptr,
        winner_ptr,
        out_ptr,
        total,
        T,
        H,
        W,
        RT: tl.constexpr,
        RH: tl.constexpr,
        RW: tl.constexpr,
        BLOCK: tl.constexpr,
    ):
        """Each input's gradient: the sum, in raster order, of the outputs it won."""
        offsets = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        inside = offsets < total
        w = offsets % W
        h = (offsets // W) % H
        t = (offsets // (W * H)) % T
        base = offsets - (t * H + h) * W - w
        own = ((t * H + h) * W + w).to(tl.int32)
        dtype = out_ptr.dtype.element_ty
        accumulate = tl.float64 if dtype == tl.float64 else tl.float32
        total_grad = tl.zeros([BLOCK], accumulate)
        for dt in tl.static_range(2 * RT + 1):
            tt = t + dt - RT
            for dh in tl.static_range(2 * RH + 1):
                hh = h + dh - RH
                for dw in tl.static_range(2 * RW + 1):
                    ww = w + dw - RW
                    valid = (
                        inside & (tt >= 0) & (tt < T) & (hh >= 0) & (hh < H) & (ww >= 0) & (ww < W)
                    )
                    flat = (tt * H + hh) * W + ww
                    winner = tl.load(winner_ptr + base + flat, mask=valid, other=-1)
                    grad = tl.load(grad_ptr + base + flat, mask=valid, other=0.0)
                    added = (total_grad + grad.to(accumulate)).to(dtype).to(accumulate)
                    total_grad = tl.where(valid & (winner == own), added, total_grad)
        tl.store(out_ptr + offsets, total_grad.to(dtype), mask=inside)


def _launch(kernel, total: int, *args, **meta) -> None:
    kernel[(triton.cdiv(total, BLOCK),)](*args, BLOCK=BLOCK, **meta)


def _radii(window: List[int]) -> dict:
    return dict(RT=window[0] // 2, RH=window[1] // 2, RW=window[2] // 2)


def pool(x: Tensor, window: List[int], global_temporal: bool) -> Tensor:
    """``bigview_pool`` (see :mod:`.bigview_pool`): a new contiguous tensor."""
    frames = (x.amax(dim=2, keepdim=True) if global_temporal else x).contiguous()
    if list(window) == [1, 1, 1] or frames.numel() == 0:
        return frames.clone() if frames is x else frames
    out = torch.empty_like(frames)
    _launch(
        _scan_kernel,
        frames.numel(),
        frames,
        out,
        frames.numel(),
        *frames.shape[2:],
        WINNER=False,
        **_radii(window),
    )
    return out


def pool_backward(grad: Tensor, x: Tensor, window: List[int], global_temporal: bool) -> Tensor:
    """``bigview_pool_backward`` (see :mod:`.bigview_pool`): contiguous, ``x``'s dtype."""
    frames = (x.amax(dim=2, keepdim=True) if global_temporal else x).contiguous()
    grad = grad.to(x.dtype).contiguous()
    if list(window) == [1, 1, 1] or frames.numel() == 0:
        grad_frames = grad
    else:
        total = frames.numel()
        winners = torch.empty(frames.shape, dtype=torch.int32, device=frames.device)
        _launch(
            _scan_kernel,
            total,
            frames,
            winners,
            total,
            *frames.shape[2:],
            WINNER=True,
            **_radii(window),
        )
        grad_frames = torch.empty_like(frames)
        _launch(
            _gather_kernel,
            total,
            grad,
            winners,
            grad_frames,
            total,
            *frames.shape[2:],
            **_radii(window),
        )
    if global_temporal:  # as amax's backward: split evenly between tied maxima
        ties = x == frames
        grad_frames = grad_frames / ties.sum(dim=2, keepdim=True) * ties
    return grad_frames.contiguous() if grad_frames is not grad else grad_frames.clone()
