package app_test

import (
	"io"
	"net/http"
	"strconv"
	"time"
)

func ioCopy(w io.Writer, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}

func itoa(n int) string { return strconv.Itoa(n) }

func sleepMs(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }
