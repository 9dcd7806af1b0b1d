package join

import "testing"

// Vectors from the xxHash reference implementation. They are XXH64 with the
// model index as the seed, as computed by github.com/cespare/xxhash/v2
// v2.3.0 (NewWithSeed). They cover every tail path and the 32-byte stripe loop.
func TestKeyOf(t *testing.T) {
	tests := []struct {
		model uint16
		id    string
		want  uint64
	}{
		{0, "", 0xef46db3751d8e999},
		{0, "a", 0xd24ec4f1a98c6e5b},
		{0, "abc", 0x44bc2cf5ad770999},
		{0, "Nobody inspects the spammish repetition", 0xfbcea83c8a378bf1},
		{0, "c1f0b6e2-5f0a-4a52-9d43-1c1e6f0c2b7a", 0x13cf6c8af2281cf0},
		{0, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefXYZ", 0x5b15f946643395e4},
		{1, "", 0xd5afba1336a3be4b},
		{1, "a", 0xdec2bc81c3cd46c6},
		{1, "abc", 0xbea9ca8199328908},
		{1, "Nobody inspects the spammish repetition", 0x43f425448d954db6},
		{1, "c1f0b6e2-5f0a-4a52-9d43-1c1e6f0c2b7a", 0x2daf67d4385392e0},
		{1, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefXYZ", 0x4636770f0ef2375},
		{0, "prediction-0001", 0x5f50a41972e4fa71},                                 // 8 + 4 + 3
		{7, "prediction-0001", 0xc7b181782f756cce},                                 // 8 + 4 + 3
		{0, "0123456789abcdef0123456789abcdef0123456789abcde", 0xceb8c23313303cfc}, // 32 + 8 + 4 + 3
		{7, "0123456789abcdef0123456789abcdef0123456789abcde", 0x6aee864d55b6c0ad}, // 32 + 8 + 4 + 3
		{65535, "", 0x82318c2d8bdfac31},
		{65535, "a", 0x6485360fcac870c0},
		{65535, "abc", 0x8e79ce123916aa96},
		{65535, "Nobody inspects the spammish repetition", 0xf54b68bddb42cdc2},
		{65535, "c1f0b6e2-5f0a-4a52-9d43-1c1e6f0c2b7a", 0x3d739ba5744532b3},
		{65535, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefXYZ", 0x377f5ff51c392486},
	}
	for _, tt := range tests {
		if got := KeyOf(tt.model, []byte(tt.id)); got != tt.want {
			t.Errorf("KeyOf(%d, %q) = %#x, want %#x", tt.model, tt.id, got, tt.want)
		}
	}
}

func TestKeyOfAllocs(t *testing.T) {
	id := []byte("c1f0b6e2-5f0a-4a52-9d43-1c1e6f0c2b7a")
	if n := testing.AllocsPerRun(100, func() { KeyOf(3, id) }); n != 0 {
		t.Fatalf("KeyOf allocates %v times per call, want 0", n)
	}
}

func BenchmarkKeyOf(b *testing.B) {
	id := []byte("c1f0b6e2-5f0a-4a52-9d43-1c1e6f0c2b7a") // a UUID, as model servers send
	b.SetBytes(int64(len(id)))
	b.ReportAllocs()
	var sink uint64
	for b.Loop() {
		sink += KeyOf(7, id)
	}
	_ = sink
}
