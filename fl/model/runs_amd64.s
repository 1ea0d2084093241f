#include "textflag.h"

// func copyRuns(dst, src *float32, n, runs, dstStride, srcStride int)
//
// For r < runs: dst[r·dstStride : +n] = src[r·srcStride : +n], eight floats at a time;
// n is a positive multiple of 8.
TEXT ·copyRuns(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), DX
	SHRQ $3, DX
	MOVQ runs+24(FP), CX
	MOVQ dstStride+32(FP), R8
	SHLQ $2, R8
	MOVQ srcStride+40(FP), R9
	SHLQ $2, R9
	TESTQ CX, CX
	JEQ  cdone

crun:
	MOVQ DX, BX
	XORQ AX, AX

cvec:
	VMOVUPS (SI)(AX*1), Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	DECQ BX
	JNE  cvec
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ CX
	JNE  crun

cdone:
	VZEROUPPER
	RET

// func addRuns(dst, src *float32, n, runs, dstStride, srcStride int)
//
// For r < runs: dst[r·dstStride : +n] += src[r·srcStride : +n], eight floats at a
// time, each sum rounded as the scalar loop rounds it; n is a positive multiple of 8.
TEXT ·addRuns(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), DX
	SHRQ $3, DX
	MOVQ runs+24(FP), CX
	MOVQ dstStride+32(FP), R8
	SHLQ $2, R8
	MOVQ srcStride+40(FP), R9
	SHLQ $2, R9
	TESTQ CX, CX
	JEQ  adone

arun:
	MOVQ DX, BX
	XORQ AX, AX

avec:
	VMOVUPS (DI)(AX*1), Y0
	VADDPS  (SI)(AX*1), Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	DECQ BX
	JNE  avec
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ CX
	JNE  arun

adone:
	VZEROUPPER
	RET

// The offsets of eight windows' left columns: window i starts at 2i.
DATA windowLanes<>+0(SB)/4, $0
DATA windowLanes<>+4(SB)/4, $2
DATA windowLanes<>+8(SB)/4, $4
DATA windowLanes<>+12(SB)/4, $6
DATA windowLanes<>+16(SB)/4, $8
DATA windowLanes<>+20(SB)/4, $10
DATA windowLanes<>+24(SB)/4, $12
DATA windowLanes<>+28(SB)/4, $14
GLOBL windowLanes<>(SB), RODATA|NOPTR, $32

// func pool8(top, bottom *float32, bias float32, dst *float32, won *int32, first, convW int32)
//
// Eight 2×2 windows, as poolRow computes them: window i is top[2i], top[2i+1],
// bottom[2i], bottom[2i+1]; its maximum (the first in that order on a tie, by strict
// comparisons, so NaN never wins) plus bias goes to dst[i], or 0 unless positive; with
// won set, won[i] is first + 2i + the winner's offset (0, 1, convW, convW+1), or −1.
TEXT ·pool8(SB), NOSPLIT, $0-48
	MOVQ top+0(FP), SI
	MOVQ bottom+8(FP), DX
	VBROADCASTSS bias+16(FP), Y15
	MOVQ dst+24(FP), DI
	MOVQ won+32(FP), R8

	// Split each row's sixteen values into the windows' left and right columns.
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VPERMPD $0xD8, Y2, Y2 // a: top left
	VPERMPD $0xD8, Y3, Y3 // b: top right
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VSHUFPS $0x88, Y1, Y0, Y4
	VSHUFPS $0xDD, Y1, Y0, Y5
	VPERMPD $0xD8, Y4, Y4 // c: bottom left
	VPERMPD $0xD8, Y5, Y5 // d: bottom right

	MOVL $1, AX
	VMOVD AX, X8
	VPBROADCASTD X8, Y8
	MOVL convW+44(FP), AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9
	INCL AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10

	VMOVAPS Y2, Y6        // best
	VPXOR   Y7, Y7, Y7    // its offset
	VCMPPS  $0x1E, Y6, Y3, Y11
	VBLENDVPS Y11, Y3, Y6, Y6
	VBLENDVPS Y11, Y8, Y7, Y7
	VCMPPS  $0x1E, Y6, Y4, Y11
	VBLENDVPS Y11, Y4, Y6, Y6
	VBLENDVPS Y11, Y9, Y7, Y7
	VCMPPS  $0x1E, Y6, Y5, Y11
	VBLENDVPS Y11, Y5, Y6, Y6
	VBLENDVPS Y11, Y10, Y7, Y7

	VADDPS  Y15, Y6, Y6
	VXORPS  Y12, Y12, Y12
	VCMPPS  $0x1E, Y12, Y6, Y11 // positive
	VANDPS  Y11, Y6, Y6
	VMOVUPS Y6, (DI)
	TESTQ   R8, R8
	JEQ     pdone

	MOVL first+40(FP), AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	VPADDD windowLanes<>(SB), Y13, Y13
	VPADDD Y7, Y13, Y13
	VPCMPEQD Y14, Y14, Y14
	VBLENDVPS Y11, Y13, Y14, Y13
	VMOVDQU Y13, (R8)

pdone:
	VZEROUPPER
	RET
