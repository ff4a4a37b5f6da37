module meshtls.test/hello-capture

go 1.26
