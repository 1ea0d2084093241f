package actionloop

import (
	"context"
	"encoding/base64"
	"encoding/json"
)

// Web lets a handler also answer as a raw web action (--web raw): a request carrying
// __ow_method has its JSON body in __ow_body (base64, as OpenWhisk passes JSON bodies),
// and the answer goes back as {statusCode, headers, body}. Other requests pass through.
func Web(h Handler) Handler {
	return func(ctx context.Context, params json.RawMessage) (any, error) {
		var web struct {
			Method *string `json:"__ow_method"`
			Body   string  `json:"__ow_body"`
		}
		if err := json.Unmarshal(params, &web); err != nil || web.Method == nil {
			return h(ctx, params)
		}
		body := json.RawMessage("{}")
		if web.Body != "" {
			body = json.RawMessage(web.Body)
			if decoded, err := base64.StdEncoding.DecodeString(web.Body); err == nil && json.Valid(decoded) {
				body = decoded
			}
		}
		if !json.Valid(body) {
			return webAnswer(400, map[string]string{"error": "the request body is not JSON"}), nil
		}
		out, err := h(ctx, body)
		if err != nil {
			return webAnswer(500, map[string]string{"error": err.Error()}), nil
		}
		return webAnswer(200, out), nil
	}
}

func webAnswer(status int, body any) map[string]any {
	return map[string]any{"statusCode": status, "headers": map[string]string{"Content-Type": "application/json"}, "body": body}
}
