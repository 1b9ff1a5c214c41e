package command

import (
	"strings"
	"unicode/utf8"
)

// didYouMean is " (did you mean <prefix><candidate>?)" for the candidate
// closest to word, or "" when none is close enough to be a typing slip.
func didYouMean(word string, candidates []string, prefix string) string {
	if c, ok := closest(word, candidates); ok {
		return " (did you mean " + prefix + c + "?)"
	}
	return ""
}

// closest is the candidate within a typing slip of word: at most two
// edits (one for words of one or two letters), a swap of neighbours counting as one, or
// word being the start of it. Ties go to the earlier candidate.
func closest(word string, candidates []string) (string, bool) {
	word = strings.ToLower(word)
	n := utf8.RuneCountInString(word)
	if n == 0 {
		return "", false
	}
	limit := 2
	if n <= 2 {
		limit = 1
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		if c == word {
			continue
		}
		d := editDistance(word, c)
		if n >= 3 && strings.HasPrefix(c, word) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD <= limit
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours, by rune.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Command words are short; refuse to spend on long ones.
	if len(ra) > 64 || len(rb) > 64 {
		return max(len(ra), len(rb))
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
