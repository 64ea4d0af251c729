-- Whether Redis answers, every renewal tick of a node without the quarantine (which beats
-- instead). KEYS[1]: '<prefix>:nodes', the beat's key, never touched here: it only routes the
-- script to the beat's shard in a Cluster.
return 1
