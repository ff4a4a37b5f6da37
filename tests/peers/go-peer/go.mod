module meshtls.test/go-peer

go 1.26
