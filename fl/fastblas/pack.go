package fastblas

// workspace holds one call's packed operands, reused across calls through the pool.
type workspace struct {
	// a is one pass of A in row panels: panel p holds rows 6p..6p+5, six values per
	// step (zero past A's last row), alpha already applied.
	a []float32
	// b is one pass of a transposed B in strips of sixteen columns, sixteen values per
	// step; edge is the last strip of an untransposed B when it has fewer than sixteen
	// columns. Both are zero past B's last column.
	b, edge []float32
	tile    [tileRows * tileCols]float32
}

// grow returns buf with length n, its values unspecified.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// packA copies steps k0..k0+depth of op(A), times alpha, into row panels.
func (ws *workspace) packA(g *gemm, k0, depth int) {
	panels := (g.m + tileRows - 1) / tileRows
	ws.a = grow(ws.a, panels*depth*tileRows)
	for p := range panels {
		panel := ws.a[p*depth*tileRows : (p+1)*depth*tileRows]
		i0 := p * tileRows
		rows := min(tileRows, g.m-i0)
		if rows < tileRows {
			clear(panel)
		}
		if g.transA {
			// A^T stores a step's rows side by side.
			for s := range depth {
				src := g.a[(k0+s)*g.lda+i0 : (k0+s)*g.lda+i0+rows]
				for r, v := range src {
					panel[s*tileRows+r] = g.alpha * v
				}
			}
			continue
		}
		first := 0
		if rows == tileRows && g.alpha == 1 {
			// The rows are there (the slices were checked): whole blocks of eight
			// steps go through the vector transpose.
			if first = depth &^ 7; first > 0 {
				interleave6(&panel[0], &g.a[i0*g.lda+k0], g.lda, first/8)
			}
		}
		for r := range rows {
			src := g.a[(i0+r)*g.lda+k0+first : (i0+r)*g.lda+k0+depth]
			for s, v := range src {
				panel[(first+s)*tileRows+r] = g.alpha * v
			}
		}
	}
}

// packB copies steps k0..k0+depth of a transposed B into strips, for the kernel reads
// sixteen consecutive columns of a step at once and B^T stores them a row apart.
func (ws *workspace) packB(g *gemm, k0, depth int) {
	strips := (g.n + tileCols - 1) / tileCols
	ws.b = grow(ws.b, strips*depth*tileCols)
	for t := range strips {
		strip := ws.b[t*depth*tileCols : (t+1)*depth*tileCols]
		j0 := t * tileCols
		cols := min(tileCols, g.n-j0)
		first := 0
		if cols < tileCols {
			clear(strip)
		} else if first = depth &^ 7; first > 0 {
			// Every row is there (the slices were checked), so the vector transpose
			// takes whole blocks of eight steps.
			transpose16(&strip[0], &g.b[j0*g.ldb+k0], g.ldb, first/8)
		}
		for j := range cols {
			row := g.b[(j0+j)*g.ldb+k0+first : (j0+j)*g.ldb+k0+depth]
			for s, v := range row {
				strip[(first+s)*tileCols+j] = v
			}
		}
	}
}

// stripOfB returns where the kernel reads columns j0..j0+cols of op(B) for the pass at
// k0, and the distance between its steps. An untransposed B is read in place unless
// the strip is narrower than the kernel, which would read past B's last column.
func (ws *workspace) stripOfB(g *gemm, k0, depth, j0, cols int) (*float32, int) {
	if g.transB {
		return &ws.b[(j0/tileCols)*depth*tileCols], tileCols
	}
	if cols == tileCols {
		return &g.b[k0*g.ldb+j0], g.ldb
	}
	ws.edge = grow(ws.edge, depth*tileCols)
	clear(ws.edge)
	for s := range depth {
		copy(ws.edge[s*tileCols:s*tileCols+cols], g.b[(k0+s)*g.ldb+j0:(k0+s)*g.ldb+j0+cols])
	}
	return &ws.edge[0], tileCols
}
