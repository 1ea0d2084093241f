#include "textflag.h"

// TRANSPOSE8 transposes the 8×8 block of rows Y0–Y7 into columns Y8–Y15 (column s
// holds element s of every row), through Y0–Y7: unpack pairs of rows, shuffle pairs
// of pairs, swap the 128-bit halves.
#define TRANSPOSE8 \
	VUNPCKLPS Y1, Y0, Y8; VUNPCKHPS Y1, Y0, Y9; VUNPCKLPS Y3, Y2, Y10; VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; VUNPCKHPS Y5, Y4, Y13; VUNPCKLPS Y7, Y6, Y14; VUNPCKHPS Y7, Y6, Y15; \
	VSHUFPS $0x44, Y10, Y8, Y0; VSHUFPS $0xEE, Y10, Y8, Y1; VSHUFPS $0x44, Y11, Y9, Y2; VSHUFPS $0xEE, Y11, Y9, Y3; \
	VSHUFPS $0x44, Y14, Y12, Y4; VSHUFPS $0xEE, Y14, Y12, Y5; VSHUFPS $0x44, Y15, Y13, Y6; VSHUFPS $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; VPERM2F128 $0x20, Y5, Y1, Y9; VPERM2F128 $0x20, Y6, Y2, Y10; VPERM2F128 $0x20, Y7, Y3, Y11; \
	VPERM2F128 $0x31, Y4, Y0, Y12; VPERM2F128 $0x31, Y5, Y1, Y13; VPERM2F128 $0x31, Y6, Y2, Y14; VPERM2F128 $0x31, Y7, Y3, Y15

// func kernel6x16(depth int, a, b *float32, ldb int, c *float32, ldc int, add int)
//
// C[0:6, 0:16] (+)= A·B over depth steps, where A is a packed panel (six values per
// step, one per row of C) and B a strip of sixteen columns, ldb values from one step to
// the next. The tile accumulates in Y0–Y11 (two registers per row); each step
// broadcasts one A value per row and fuses its multiply-add into both of that row's
// registers. With add set the tile is added to C, otherwise it replaces it.
TEXT ·kernel6x16(SB), NOSPLIT, $0-56
	MOVQ depth+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R8
	SHLQ $2, R8
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R9
	SHLQ $2, R9

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	TESTQ CX, CX
	JEQ   store

step:
	// B's steps are ldb apart, often a page or more, where the hardware prefetcher
	// does not follow: fetch the strip eight steps ahead.
	PREFETCHT0   (DI)(R8*8)
	PREFETCHT0   63(DI)(R8*8)
	VMOVUPS      (DI), Y12
	VMOVUPS      32(DI), Y13
	VBROADCASTSS (SI), Y14
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VBROADCASTSS 4(SI), Y15
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS 8(SI), Y14
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VBROADCASTSS 12(SI), Y15
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS 16(SI), Y14
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VBROADCASTSS 20(SI), Y15
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         $24, SI
	ADDQ         R8, DI
	DECQ         CX
	JNE          step

store:
	MOVQ  add+48(FP), AX
	TESTQ AX, AX
	JEQ   replace

	VADDPS  (DX), Y0, Y0
	VADDPS  32(DX), Y1, Y1
	ADDQ    R9, DX
	VADDPS  (DX), Y2, Y2
	VADDPS  32(DX), Y3, Y3
	ADDQ    R9, DX
	VADDPS  (DX), Y4, Y4
	VADDPS  32(DX), Y5, Y5
	ADDQ    R9, DX
	VADDPS  (DX), Y6, Y6
	VADDPS  32(DX), Y7, Y7
	ADDQ    R9, DX
	VADDPS  (DX), Y8, Y8
	VADDPS  32(DX), Y9, Y9
	ADDQ    R9, DX
	VADDPS  (DX), Y10, Y10
	VADDPS  32(DX), Y11, Y11
	MOVQ    c+32(FP), DX

replace:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ    R9, DX
	VMOVUPS Y2, (DX)
	VMOVUPS Y3, 32(DX)
	ADDQ    R9, DX
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ    R9, DX
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ    R9, DX
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ    R9, DX
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	VZEROUPPER
	RET

// func transpose16(dst, src *float32, ld, blocks int)
//
// Packs sixteen rows of a transposed B: for each of blocks blocks of eight steps,
// dst[(8·blk+s)·16 + j] = src[j·ld + 8·blk + s] for j < 16 and s < 8. Each half of
// the rows is one 8×8 transpose in registers (unpack, shuffle, swap of halves).
TEXT ·transpose16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	MOVQ blocks+24(FP), CX
	LEAQ (R8)(R8*2), R9  // 3 rows
	LEAQ (R8)(R8*4), R10 // 5 rows
	LEAQ (R9)(R9*1), R11 // 6 rows
	LEAQ (R11)(R8*1), R12 // 7 rows
	TESTQ CX, CX
	JEQ  tdone

tblock:
	MOVQ SI, AX
	MOVQ $0, BX

thalf:
	VMOVUPS (AX), Y0
	VMOVUPS (AX)(R8*1), Y1
	VMOVUPS (AX)(R8*2), Y2
	VMOVUPS (AX)(R9*1), Y3
	VMOVUPS (AX)(R8*4), Y4
	VMOVUPS (AX)(R10*1), Y5
	VMOVUPS (AX)(R11*1), Y6
	VMOVUPS (AX)(R12*1), Y7
	TRANSPOSE8
	VMOVUPS Y8, (DI)(BX*1)
	VMOVUPS Y9, 64(DI)(BX*1)
	VMOVUPS Y10, 128(DI)(BX*1)
	VMOVUPS Y11, 192(DI)(BX*1)
	VMOVUPS Y12, 256(DI)(BX*1)
	VMOVUPS Y13, 320(DI)(BX*1)
	VMOVUPS Y14, 384(DI)(BX*1)
	VMOVUPS Y15, 448(DI)(BX*1)
	// The second half: rows 8..15 into columns 8..15 of the same steps.
	CMPQ BX, $0
	JNE  tnext
	MOVQ $32, BX
	LEAQ (SI)(R8*8), AX
	JMP  thalf

tnext:
	ADDQ $32, SI
	ADDQ $512, DI
	DECQ CX
	JNE  tblock

tdone:
	VZEROUPPER
	RET

// func interleave6(dst, src *float32, lda, blocks int)
//
// Packs a full row panel of an untransposed A: for each of blocks blocks of eight
// steps, dst[(8·blk+s)·6 + r] = src[r·lda + 8·blk + s] for r < 6 and s < 8. The six
// rows and two zero rows make one 8×8 transpose; each column's six values are stored
// as four and two, so nothing past the panel is written.
TEXT ·interleave6(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	MOVQ blocks+24(FP), CX
	LEAQ (R8)(R8*2), R9  // 3 rows
	LEAQ (R8)(R8*4), R10 // 5 rows
	TESTQ CX, CX
	JEQ  idone

iblock:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (SI)(R8*4), Y4
	VMOVUPS (SI)(R10*1), Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	TRANSPOSE8
	VMOVUPS X8, (DI)
	VEXTRACTF128 $1, Y8, X0
	VMOVQ   X0, 16(DI)
	VMOVUPS X9, 24(DI)
	VEXTRACTF128 $1, Y9, X0
	VMOVQ   X0, 40(DI)
	VMOVUPS X10, 48(DI)
	VEXTRACTF128 $1, Y10, X0
	VMOVQ   X0, 64(DI)
	VMOVUPS X11, 72(DI)
	VEXTRACTF128 $1, Y11, X0
	VMOVQ   X0, 88(DI)
	VMOVUPS X12, 96(DI)
	VEXTRACTF128 $1, Y12, X0
	VMOVQ   X0, 112(DI)
	VMOVUPS X13, 120(DI)
	VEXTRACTF128 $1, Y13, X0
	VMOVQ   X0, 136(DI)
	VMOVUPS X14, 144(DI)
	VEXTRACTF128 $1, Y14, X0
	VMOVQ   X0, 160(DI)
	VMOVUPS X15, 168(DI)
	VEXTRACTF128 $1, Y15, X0
	VMOVQ   X0, 184(DI)
	ADDQ $32, SI
	ADDQ $192, DI
	DECQ CX
	JNE  iblock

idone:
	VZEROUPPER
	RET
