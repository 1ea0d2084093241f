#include "textflag.h"

// func adamSteps(p, grad, m, v *float32, n int, c *adamConsts)
//
// Eight parameters at a time, the scalar loop's operations in its order, each rounded
// as it is (no fused multiply-add), so the two give the same bits:
//   m = b1·m + (1−b1)·g;  v = b2·v + ((1−b2)·g)·g
//   p −= (lr·(ms·m + gs·g)) / (√(v·vs) + eps)
// n is a multiple of 8.
TEXT ·adamSteps(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Y8   // b1
	VBROADCASTSS 4(AX), Y9   // 1 − b1
	VBROADCASTSS 8(AX), Y10  // b2
	VBROADCASTSS 12(AX), Y11 // 1 − b2
	VBROADCASTSS 16(AX), Y12 // ms
	VBROADCASTSS 20(AX), Y13 // gs
	VBROADCASTSS 24(AX), Y14 // vs
	VBROADCASTSS 28(AX), Y15 // eps
	VBROADCASTSS 32(AX), Y7  // lr
	SHRQ $3, CX
	JEQ  done

loop:
	VMOVUPS (SI), Y0     // g
	VMULPS  (R8), Y8, Y1 // b1·m
	VMULPS  Y0, Y9, Y2   // (1−b1)·g
	VADDPS  Y2, Y1, Y1   // m
	VMOVUPS Y1, (R8)
	VMULPS  (R9), Y10, Y2 // b2·v
	VMULPS  Y0, Y11, Y3   // (1−b2)·g
	VMULPS  Y0, Y3, Y3    // ((1−b2)·g)·g
	VADDPS  Y3, Y2, Y2    // v
	VMOVUPS Y2, (R9)
	VMULPS  Y1, Y12, Y1 // ms·m
	VMULPS  Y0, Y13, Y3 // gs·g
	VADDPS  Y3, Y1, Y1
	VMULPS  Y1, Y7, Y1  // lr·(…)
	VMULPS  Y2, Y14, Y2 // v·vs
	VSQRTPS Y2, Y2
	VADDPS  Y15, Y2, Y2
	VDIVPS  Y2, Y1, Y1
	VMOVUPS (DI), Y4
	VSUBPS  Y1, Y4, Y4
	VMOVUPS Y4, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, R8
	ADDQ    $32, R9
	DECQ    CX
	JNE     loop

done:
	VZEROUPPER
	RET

// func sgdSteps(p, grad *float32, n int, lr float32)
//
// p −= lr·g, eight at a time, rounded as the scalar loop rounds; n is a multiple of 8.
TEXT ·sgdSteps(SB), NOSPLIT, $0-28
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS lr+24(FP), Y7
	SHRQ $3, CX
	JEQ  sgdDone

sgdLoop:
	VMULPS  (SI), Y7, Y0
	VMOVUPS (DI), Y1
	VSUBPS  Y0, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNE     sgdLoop

sgdDone:
	VZEROUPPER
	RET
