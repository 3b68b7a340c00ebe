package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

// apiError is an error with the status and code the client gets.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "bad_request", fmt.Sprintf(format, args...)}
}

func unauthorized(msg string) error {
	return &apiError{http.StatusUnauthorized, "unauthorized", msg}
}

func forbidden(format string, args ...any) error {
	return &apiError{http.StatusForbidden, "forbidden", fmt.Sprintf(format, args...)}
}

func notFound(what string) error {
	return &apiError{http.StatusNotFound, "not_found", what + " not found"}
}

func conflict(format string, args ...any) error {
	return &apiError{http.StatusConflict, "conflict", fmt.Sprintf(format, args...)}
}

func tooLarge(format string, args ...any) error {
	return &apiError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf(format, args...)}
}

// rateLimited carries how long the client should wait.
type rateLimited struct {
	apiError
	retryAfter time.Duration
}

func tooManyRequests(wait time.Duration, msg string) error {
	return &rateLimited{apiError{http.StatusTooManyRequests, "rate_limited", msg}, wait}
}

// writeError answers err as an apiv1.Error. Errors the client cannot act
// on are logged and answered as a bare 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var rl *rateLimited
	if errors.As(err, &rl) {
		secs := int64(rl.retryAfter/time.Second) + 1
		if rl.retryAfter > time.Hour {
			secs = 3600
		}
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		err = &rl.apiError
	}
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{http.StatusNotFound, "not_found", "not found"}
	case errors.Is(err, store.ErrConflict):
		ae = &apiError{http.StatusConflict, "conflict", "an object with the same name already exists"}
	case errors.Is(err, store.ErrBadCursor):
		ae = &apiError{http.StatusBadRequest, "bad_request", "query parameter cursor: not a cursor this API returned"}
	case errors.Is(err, r.Context().Err()) && r.Context().Err() != nil:
		// The client went away; there is nobody to answer.
		return
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{http.StatusInternalServerError, "internal", "internal error; the server log has the details"}
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="palisade"`)
	}
	writeJSON(w, ae.status, apiv1.Error{Code: ae.code, Message: ae.message})
}
