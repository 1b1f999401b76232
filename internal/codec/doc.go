// Package codec is the token grammar: lossless flow <-> tokens, and views.
package codec
