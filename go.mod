module github.com/trafficgpt/trafficgpt

go 1.26
