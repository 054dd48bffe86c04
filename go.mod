module courier

go 1.26
