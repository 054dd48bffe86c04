package sortthread

type deviation struct{ ours, why string }

// Why our answers differ from Courier's on the golden scenarios: in each case Courier departs
// from RFC 5256 and we follow the RFC (see the package comment).
const (
	whyTies   = "RFC 5256 §3: ties in mailbox order; Courier lists them in descending order"
	whyFrom   = "RFC 5256 §3: FROM/TO/CC sort on the addr-mailbox with i;ascii-casemap; Courier on the whole address, case-sensitively (and ties)"
	whyNoDate = "RFC 5256 §2.2: a missing or unparsable Date: means the internal date; Courier uses 0 or leaves the message unsorted (and ties)"
	whyChain  = "RFC 5256 §4 ORDEREDSUBJECT: later messages are children of the first; Courier prints a chain"
	whyStep3  = "RFC 5256 §4 REFERENCES step 3 promotes a top-level dummy's only child before step 5; Courier after"
)

var deviations = map[string]deviation{
	"t1\x00SORT (SUBJECT) UTF-8 ALL":         {"* SORT 5 10 12 1 2 4 6 7 11 13 8 9 14 15 3", whyTies},
	"t1\x00SORT (FROM) UTF-8 ALL":            {"* SORT 4 5 6 10 12 13 14 15 1 7 11 2 9 3 8", whyFrom},
	"t1\x00SORT (TO) UTF-8 ALL":              {"* SORT 3 5 6 7 8 9 10 11 12 13 14 15 2 1 4", whyTies},
	"t1\x00SORT (CC) UTF-8 ALL":              {"* SORT 2 3 4 5 6 7 10 11 12 13 14 15 8 9 1", whyTies},
	"t1\x00SORT (DATE) UTF-8 ALL":            {"* SORT 2 1 5 6 7 8 10 3 4 9 11 12 13 14 15", whyNoDate},
	"t1\x00SORT (REVERSE SUBJECT) UTF-8 ALL": {"* SORT 3 15 14 8 9 13 1 2 4 6 7 11 12 5 10", whyTies},
	"t1\x00SORT (REVERSE DATE) UTF-8 ALL":    {"* SORT 15 14 13 12 11 9 4 3 1 5 6 7 8 10 2", whyNoDate},
	"t1\x00SORT (SUBJECT DATE) UTF-8 ALL":    {"* SORT 5 10 12 2 1 6 7 4 11 13 8 9 14 15 3", whyNoDate},
	"t1\x00SORT (FROM ARRIVAL) UTF-8 ALL":    {"* SORT 4 5 6 10 12 13 14 15 1 7 11 2 9 3 8", whyFrom},
	"t1\x00THREAD ORDEREDSUBJECT UTF-8 ALL":  {"* THREAD (2 (1)(6)(7)(4)(11))(5 10)(8 9)(3)(12)(13)(14)(15)", whyNoDate},
	"t1\x00THREAD REFERENCES UTF-8 ALL":      {"* THREAD (2 (1)(6)(7)(4)(11))(5)(8 9)(10)(3)(12)(13)(14)(15)", whyNoDate},
	"th1\x00THREAD REFERENCES UTF-8 ALL":     {"* THREAD (1 (2 3)(4)(10))(13 14)((5)(6))(7)(9 8)(11 12)", whyNoDate},
	"th1\x00THREAD ORDEREDSUBJECT UTF-8 ALL": {"* THREAD (12 11)(1 (2)(3)(4)(10))(13)(5)(6)(7)(8)(9)(14)", whyNoDate},
	"th1\x00SORT (DATE) UTF-8 ALL":           {"* SORT 12 1 13 2 5 3 6 4 7 8 9 10 14 11", whyNoDate},
	"th1\x00SORT (SUBJECT) UTF-8 ALL":        {"* SORT 7 13 8 9 14 5 6 1 2 3 4 10 11 12", whyTies},
	"th2\x00THREAD REFERENCES UTF-8 ALL":     {"* THREAD (6)(4)(7)(3)(1)(2)(5)", whyNoDate},
	"th2\x00THREAD ORDEREDSUBJECT UTF-8 ALL": {"* THREAD (6)(4)(7)(3)(1)(2)(5)", whyNoDate},
	"th2\x00SORT (DATE) UTF-8 ALL":           {"* SORT 6 4 7 3 1 2 5", whyNoDate},
	"th4\x00SORT (SUBJECT) UTF-8 ALL":        {"* SORT 4 5 2 6 3 1", whyTies},
	"th5\x00THREAD REFERENCES UTF-8 ALL":     {"* THREAD (1 (2 5)(7))(3)(4)(6)((8)(9))(13 14)((15)(10 (12 16)(11)))((17)(18)(19))(21 20)", whyStep3},
	"th5\x00THREAD ORDEREDSUBJECT UTF-8 ALL": {"* THREAD (1 7)(2)(3)(4)(5)(6)(8 9)(12)(11 (16)(15)(10))(14 13)(17 (18)(19))(20)(21)", whyChain},
	"th5\x00SORT (SUBJECT) UTF-8 ALL":        {"* SORT 1 7 10 11 15 16 13 14 2 20 21 3 4 5 6 8 9 12 17 18 19", whyTies},
	"th6\x00THREAD ORDEREDSUBJECT UTF-8 ALL": {"* THREAD (1 (2)(3))(4 (5)(6))", whyChain},
	"th6\x00SORT (SUBJECT) UTF-8 ALL":        {"* SORT 1 2 3 4 5 6", whyTies},
}
