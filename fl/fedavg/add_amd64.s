#include "textflag.h"

// func firstNonFinite(x *float32, n int) int
//
// The index of the first of x's n values (n a multiple of 8) whose exponent is all
// ones (NaN or infinite), or n when there is none; eight at a time.
TEXT ·firstNonFinite(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL $0x7f800000, AX
	VMOVD AX, X1
	VPBROADCASTD X1, Y1
	XORQ DX, DX
	TESTQ CX, CX
	JEQ  fnone

floop:
	VPAND   (SI)(DX*4), Y1, Y0
	VPCMPEQD Y1, Y0, Y0
	VMOVMSKPS Y0, AX
	TESTL   AX, AX
	JNE     ffound
	ADDQ    $8, DX
	CMPQ    DX, CX
	JLT     floop

fnone:
	MOVQ CX, ret+16(FP)
	VZEROUPPER
	RET

ffound:
	BSFL AX, AX
	ADDQ AX, DX
	MOVQ DX, ret+16(FP)
	VZEROUPPER
	RET

// func addWeighted(sum *float64, x *float32, n int, w float64)
//
// sum[i] += w·float64(x[i]) for n values (a multiple of 4), four at a time, the
// product and the sum each rounded as the scalar loop rounds them (no fused
// multiply-add), so both give the same bits.
TEXT ·addWeighted(SB), NOSPLIT, $0-32
	MOVQ sum+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSD w+24(FP), Y2
	SHRQ $2, CX
	JEQ  adone

aloop:
	VCVTPS2PD (SI), Y0
	VMULPD    Y2, Y0, Y0
	VADDPD    (DI), Y0, Y0
	VMOVUPD   Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNE  aloop

adone:
	VZEROUPPER
	RET
