package metric

import (
	"fmt"
	"strconv"
)

// Confusion returns the k x k confusion matrix of labels (true classes) and
// preds (predicted classes): m[t][p] counts samples of true class t predicted
// as p. Values outside [0, k) are ignored. labels and preds must have the same
// length; a shorter preds is read up to its length.
func Confusion(labels, preds []int, k int) [][]int {
	cells := make([]int, k*k)
	m := make([][]int, k)
	for i := range m {
		m[i] = cells[i*k : (i+1)*k : (i+1)*k]
	}
	n := min(len(labels), len(preds))
	for i := 0; i < n; i++ {
		t, p := labels[i], preds[i]
		if t < 0 || t >= k || p < 0 || p >= k {
			continue
		}
		m[t][p]++
	}
	return m
}

// ClassStats are the per-class scores of a ClassReport.
type ClassStats struct {
	Label     string  `json:"label"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// ClassReport is the JSON-friendly summary of a classification. PerClass,
// Confusion and Labels have one entry per class 0..k-1, in class order;
// Confusion[t][p] counts true class t predicted as p.
//
// Conventions (those of scikit-learn's classification_report with
// zero_division=0): a class with no predictions has precision 0; a class with
// no support has recall 0; F1 is 0 when precision+recall is 0. The macro
// averages run over the classes that occur in labels or in preds (scikit-
// learn's default label set, the union of both); a class that occurs in
// neither is excluded. Accuracy is the share of correct predictions.
type ClassReport struct {
	Accuracy       float64      `json:"accuracy"`
	MacroPrecision float64      `json:"macro_precision"`
	MacroRecall    float64      `json:"macro_recall"`
	MacroF1        float64      `json:"macro_f1"`
	PerClass       []ClassStats `json:"per_class"`
	Confusion      [][]int      `json:"confusion"`
	Labels         []string     `json:"labels"`
}

// Report scores preds against labels over k classes. names gives the class
// names (nil or short: the class index is used).
func Report(labels, preds []int, k int, names []string) (ClassReport, error) {
	if len(labels) != len(preds) {
		return ClassReport{}, fmt.Errorf("metric: %d labels but %d predictions", len(labels), len(preds))
	}
	for i := range labels {
		if labels[i] < 0 || labels[i] >= k || preds[i] < 0 || preds[i] >= k {
			return ClassReport{}, fmt.Errorf("metric: sample %d: class out of range [0,%d): label %d, prediction %d",
				i, k, labels[i], preds[i])
		}
	}
	cm := Confusion(labels, preds, k)
	r := ClassReport{Confusion: cm, PerClass: make([]ClassStats, k), Labels: make([]string, k)}
	correct := 0
	used := 0
	for c := 0; c < k; c++ {
		name := strconv.Itoa(c)
		if c < len(names) {
			name = names[c]
		}
		r.Labels[c] = name
		tp := cm[c][c]
		correct += tp
		support, predicted := 0, 0
		for j := 0; j < k; j++ {
			support += cm[c][j]
			predicted += cm[j][c]
		}
		s := ClassStats{Label: name, Support: support}
		if predicted > 0 {
			s.Precision = float64(tp) / float64(predicted)
		}
		if support > 0 {
			s.Recall = float64(tp) / float64(support)
		}
		if s.Precision+s.Recall > 0 {
			s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
		}
		r.PerClass[c] = s
		if support > 0 || predicted > 0 {
			used++
			r.MacroPrecision += s.Precision
			r.MacroRecall += s.Recall
			r.MacroF1 += s.F1
		}
	}
	if used > 0 {
		r.MacroPrecision /= float64(used)
		r.MacroRecall /= float64(used)
		r.MacroF1 /= float64(used)
	}
	if len(labels) > 0 {
		r.Accuracy = float64(correct) / float64(len(labels))
	}
	return r, nil
}
