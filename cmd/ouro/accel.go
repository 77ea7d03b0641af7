package main

import (
	"context"
	"fmt"
)

func cmdAccel(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "ouro accel: not built yet")
	return exitUsage
}
